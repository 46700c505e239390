# HARL top-level entry points. `make demo` and `make test` work on a fresh Debian 12 machine
# as root: both install the Debian packages HARL needs first (scripts/install_deps.sh).
BUILD ?= build
JOBS ?= 2
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all deps build demo test bench bench-smoke collect train train-policy install clean format

all: build

deps:
	./scripts/install_deps.sh

$(BUILD)/Makefile: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# Autoschedules the ResNet-50 3x3 conv layer with HARL and Adams2019, checks both against a
# naive reference, runs both and prints the comparison.
demo: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target harl_autosched harl_apps.generator harl-host-target
	python3 apps/bench.py --build $(BUILD) --apps conv3x3 --systems harl,adams2019 --runs 5

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Every app with HARL, Adams2019, Mullapudi2016 and the hand schedule; table + CSV; then
# HARL's search time and memory against pipeline size.
bench: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target harl_autosched harl_apps.generator harl-host-target harl_scaling
	python3 apps/bench.py --build $(BUILD) --runs 7 --csv $(BUILD)/bench.csv
	@echo "HARL search cost against pipeline size (default options: the learned model; states_per_second: partial schedules scored per second of the whole autoschedule call, search_states_per_second: per second of the beam search alone; one core):"
	$(BUILD)/apps/harl_scaling 8 16 32 64 128 | tee $(BUILD)/scaling.csv
	@echo "The same with the analytic cost model:"
	HARL_COST_MODEL=analytic $(BUILD)/apps/harl_scaling 8 16 32 64 128 | tee $(BUILD)/scaling_analytic.csv
	@echo "The learned model against the analytic one on random pipelines neither has seen (runtime of HARL's picks):"
	cmake --build $(BUILD) -j$(JOBS) --target harl-compare
	$(BUILD)/training/harl-compare --b shipped --pipelines $(COMPARE_PIPELINES) --csv $(BUILD)/compare.csv | tee $(BUILD)/compare.txt
	@echo "The same on random dense blocks (linear layers, softmax, layer norm):"
	$(BUILD)/training/harl-compare --b shipped --family dense --pipelines $(COMPARE_DENSE_PIPELINES) --csv $(BUILD)/compare_dense.csv | tee $(BUILD)/compare_dense.txt
	@echo "RL tuning with measurements against random and dropout-greedy sampling (same space, same budget):"
	python3 apps/search_efficiency.py --build $(BUILD) --measurements $(EFFICIENCY_MEASUREMENTS) --apps $(EFFICIENCY_APPS) | tee $(BUILD)/search_efficiency.txt
	@echo "GPU: invalid proposals with and without validity-driven initialisation (apps + 50 random pipelines):"
	cmake --build $(BUILD) -j$(JOBS) --target random_pipeline.generator
	python3 apps/gpu_validity.py --build $(BUILD) --pipelines 50 | tee $(BUILD)/gpu_validity.txt
	@echo "GPU: every app's CUDA kernels assembled by ptxas for sm_80 and sm_90 (HARL and Li2018):"
	python3 tests/check_cuda_ptx.py --build $(BUILD) --systems harl,li2018 | tee $(BUILD)/cuda_ptx.txt

COMPARE_PIPELINES ?= 30
COMPARE_DENSE_PIPELINES ?= 10
EFFICIENCY_MEASUREMENTS ?= 512
EFFICIENCY_APPS ?= conv3x3,conv1x1,gemm,depthwise,maxpool,softmax

# Training data and the learned cost model (README: "Retrain HARL for your machine"). Both are
# resumable / repeatable; CI runs a smoke version of each (ctest Training.*).
DATASET ?= data/harl_dataset.db
WEIGHTS ?= data/harl_cpu.weights
COLLECT_MINUTES ?= 60
DENSE_MINUTES ?= 15
TRAIN_MINUTES ?= 15

collect: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target harl-collect
	mkdir -p $(dir $(DATASET))
	$(BUILD)/training/harl-collect --db $(DATASET) --minutes $(COLLECT_MINUTES)
	$(BUILD)/training/harl-collect --db $(DATASET) --minutes $(DENSE_MINUTES) --family dense

train: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target harl-train
	mkdir -p $(dir $(WEIGHTS))
	$(BUILD)/training/harl-train --db $(DATASET) --out $(WEIGHTS) --minutes $(TRAIN_MINUTES)
	@echo "Use the new weights with: HARL_WEIGHTS=$(abspath $(WEIGHTS)); ship them by copying them to cost_model/weights/harl_cpu.weights (harl_cpu_avx512.weights for AVX-512 targets) and rebuilding"

# The RL refinement policies: PPO pre-training on random pipelines (cost model as environment).
POLICY ?= data/harl_policy.weights
POLICY_MINUTES ?= 15
train-policy: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS) --target harl-train-policy
	mkdir -p $(dir $(POLICY))
	$(BUILD)/training/harl-train-policy --out $(POLICY) --iterations 200 --minutes $(POLICY_MINUTES) --log $(POLICY).csv
	@echo "Use the new policy with: HARL_POLICY=$(abspath $(POLICY)); ship it by copying it to cost_model/weights/harl_policy.weights and rebuilding"

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD)
