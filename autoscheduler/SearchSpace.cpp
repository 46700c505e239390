#include "SearchSpace.h"
#include "Errors.h"
#include "Featurizer.h"

#include <algorithm>
#include <functional>
#include <map>

namespace harl {

namespace {

// Most copies an unrolled tile of an update may have: a register block of accumulators needs at
// most the register file (16 or 32 vectors); more copies cost compile time. (The whole-region
// register block may be larger; the cost model charges its spills.)
constexpr int kMaxUnrolledCopies = 16;

std::vector<int64_t> tile_ladder(int64_t extent) {
    std::vector<int64_t> v;
    for (int64_t t : {2, 3, 4, 6, 8, 16, 32, 64, 128, 256}) {
        if (t < extent) v.push_back(t);
    }
    // The whole extent (a tile covering the region exactly, without tails).
    if (extent > 1 && std::find(v.begin(), v.end(), extent) == v.end()) v.push_back(extent);
    return v;
}

int parallel_loops_for(const StageChoice &c, const Stage &st, const std::vector<Span> &box, int parallelism) {
    if (parallelism <= 1) return 0;
    // Outer loops innermost first: pure vars with an outer loop.
    std::vector<double> outer;
    for (size_t k = 0; k < st.loops.size(); k++) {
        if (st.loops[k].rvar) continue;
        int64_t e = std::max<int64_t>(1, box[k].extent());
        int64_t t = std::max<int64_t>(1, c.tile[k]);
        outer.push_back((double)((e + t - 1) / t));
    }
    const int most = std::min((int)outer.size(), st.max_fused_parallel_loops());
    double prod = 1;
    for (int p = 1; p <= most; p++) {
        prod *= outer[outer.size() - p];
        if (prod >= 2.0 * parallelism) return p;
    }
    return prod >= parallelism ? most : 0;
}

// Does computing inside loop `level` of `nest` (innermost first) see a region of constant size?
// Only when every dimension's outer loop is at or outside that loop: a dimension tiled inside
// it is covered whole, and its extent is only known when the pipeline runs. build_loop_nest()
// gives each pure var exactly one Outer loop (its own or a fused one), so no Outer loop may lie
// inside `level`.
bool region_tiled_outside(const LoopNest &nest, int level) {
    for (int i = 0; i < std::min(level, (int)nest.loops.size()); i++) {
        if (nest.loops[i].kind == LoopInfo::Outer) return false;
    }
    return true;
}

// Whether dimension `d` of the producer read by `am` moves with a consumer loop whose dimension
// is in `shrinks` (per dimension of the consumer; loop k of `st` covers its pure_dim).
bool moves_with_shrinking_dim(const AccessMap &am, int d, const Stage &st, const std::vector<bool> &shrinks) {
    for (size_t k = 0; k < st.loops.size(); k++) {
        const int cd = st.loops[k].pure_dim;
        if (cd >= 0 && cd < (int)shrinks.size() && shrinks[cd] && am.dimension_depends_on_loop(d, (int)k))
            return true;
    }
    return false;
}

// Which dimensions of `node`'s region, computed inside the tiles of root output `at_node`,
// have the same extent in every tile. A consumer that reads a Func through a constant clamp
// (repeat_edge and other boundary conditions) needs fewer points of it in the tiles at the
// image's borders, so that dimension shrinks there, and so do the dimensions of the Funcs below
// it that move with it. Halide guards the tails of a shrinking dimension's tiles; an unrolled
// block copied into every loop partition Halide makes around the clamps took LLVM minutes to
// compile (seed 9300013 of the random pipelines).
std::vector<bool> fixed_dims_within(const PipelineGraph &g, int node, int at_node) {
    std::map<int, std::vector<bool>> memo; // per Func between node and at_node: shrinking dims
    std::function<std::vector<bool>(int)> shrinking = [&](int p) {
        auto it = memo.find(p);
        if (it != memo.end()) return it->second;
        std::vector<bool> out(g.node(p).dims, false);
        if (p != at_node) {
            for (int c : g.node(p).consumers) {
                const std::vector<bool> cs = shrinking(c);
                for (const Stage &st : g.node(c).stages) {
                    for (const AccessMap &am : st.loads) {
                        for (int d = 0; am.producer == p && d < (int)out.size(); d++) {
                            if (am.clamped(d) || moves_with_shrinking_dim(am, d, st, cs)) out[d] = true;
                        }
                    }
                }
            }
        }
        memo[p] = out;
        return out;
    };
    std::vector<bool> fixed = shrinking(node);
    fixed.flip();
    return fixed;
}

} // namespace

std::vector<StageChoice> stage_candidates(const Stage &st, const std::vector<Span> &box, bool inside_parallel,
                                          bool computed_inside, const std::vector<bool> &fixed_dims,
                                          const SearchContext &ctx, std::mt19937_64 &rng) {
    std::vector<StageChoice> out;
    // Does pure loop `k` cover a dimension whose extent is the same in every tile?
    auto fixed = [&](int k) {
        const int d = st.loops[k].pure_dim;
        return d >= 0 && d < (int)fixed_dims.size() && fixed_dims[d];
    };
    // Unroll only loops whose every copy always runs: unrolling a guarded (partial) tile
    // multiplies code and compile time, and Halide 14 can miscompile it (found by the fuzzer;
    // see halide/Halide#4688 for the family). That holds for a stage whose tiled dimensions are
    // fixed and divided exactly by its tiles. Unrolling pays for register blocks of reductions;
    // for pure stages it mostly costs compile time, so only update stages are unrolled.
    auto unroll_is_exact = [&](const StageChoice &c) {
        if (st.index == 0) return false;
        for (size_t k = 0; k < st.loops.size(); k++) {
            if (!st.loops[k].rvar && c.tile[k] > 1 &&
                (!fixed((int)k) || std::max<int64_t>(1, box[k].extent()) % c.tile[k] != 0)) {
                return false;
            }
        }
        return true;
    };
    StageChoice def = default_stage_choice(st, box, ctx.parallelism);
    if (!def.scheduled) return {def};
    const int nl = (int)st.loops.size();
    std::vector<int> pure;
    for (int k = 0; k < nl; k++) {
        if (!st.loops[k].rvar) pure.push_back(k);
    }
    // Vector var options at the native width: the innermost pure var, and the longest other one
    // (e.g. channels).
    struct VectorOption {
        int var, width;
    };
    std::vector<VectorOption> vec_opts;
    const int native = st.vector_lanes;
    for (int k : pure) {
        if (native > 1 && box[k].extent() >= native) {
            if (vec_opts.empty())
                vec_opts.push_back({k, native});
            else if (vec_opts.size() == 1 || box[k].extent() > box[vec_opts[1].var].extent()) {
                if (vec_opts.size() == 1)
                    vec_opts.push_back({k, native});
                else
                    vec_opts[1].var = k;
            }
        }
    }
    // An innermost pure var shorter than a native vector (12 channels against 16 lanes) may
    // still fill a narrower one (8 or 4 lanes). Left scalar, LLVM vectorises such loops by
    // its own choice: in a reduction sometimes along the RVar, gathering one operand and
    // reducing horizontally on every step, several times slower (rp2-s110509: 6.8 against
    // 0.6 ms for the same update).
    if (!pure.empty() && native >= 8 && box[pure[0]].extent() < native) {
        int w = native / 2;
        while (w > box[pure[0]].extent())
            w /= 2;
        if (w >= 4) vec_opts.push_back({pure[0], w});
    }
    // An update computed inside a consumer whose region can shrink below a vector (partial or
    // clamped tiles) runs its guarded vector tail on every such tile; Halide 14 miscompiles
    // some of those (found by the fuzzer), so such updates vectorise only fixed dimensions.
    if (st.index > 0 && computed_inside) {
        vec_opts.erase(std::remove_if(vec_opts.begin(), vec_opts.end(),
                                      [&](const VectorOption &o) { return !fixed(o.var); }),
                       vec_opts.end());
    }
    if (vec_opts.empty()) vec_opts.push_back({-1, 1});
    // Enumerate tilings: per pure var a ladder of inner tile sizes.
    for (const VectorOption &vo : vec_opts) {
        const int vv = vo.var, lanes = vo.width;
        std::vector<std::vector<int64_t>> ladders;
        for (int k : pure) {
            int64_t e = std::max<int64_t>(1, box[k].extent());
            std::vector<int64_t> l;
            if (k == vv) {
                for (int64_t t : {1, 2, 4}) {
                    if (t * lanes <= e) l.push_back(t * lanes);
                }
                // The exact extent when it is a whole number of vectors (register blocks).
                if (e % lanes == 0 && e / lanes <= 8 && std::find(l.begin(), l.end(), e) == l.end())
                    l.push_back(e);
            } else {
                l = {1};
                for (int64_t t : tile_ladder(e))
                    l.push_back(t);
            }
            ladders.push_back(l);
        }
        size_t combos = 1;
        for (auto &l : ladders)
            combos *= l.size();
        std::vector<size_t> picks;
        if (combos <= (size_t)ctx.max_candidates) {
            for (size_t i = 0; i < combos; i++)
                picks.push_back(i);
        } else {
            std::uniform_int_distribution<size_t> d(0, combos - 1);
            for (int i = 0; i < ctx.max_candidates; i++)
                picks.push_back(d(rng));
        }
        for (size_t pick : picks) {
            StageChoice c;
            c.tile.assign(nl, 1);
            size_t rest = pick;
            for (size_t i = 0; i < pure.size(); i++) {
                c.tile[pure[i]] = ladders[i][rest % ladders[i].size()];
                rest /= ladders[i].size();
            }
            if (vv >= 0) {
                c.vector_var = vv;
                c.vector_width = lanes;
            }
            int64_t inner = 1;
            for (int k : pure)
                inner *= (k == vv) ? c.tile[k] / std::max(1, lanes) : c.tile[k];
            c.parallel_loops = inside_parallel ? 0 : parallel_loops_for(c, st, box, ctx.parallelism);
            if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
            if (inner > 1 && inner <= kMaxUnrolledCopies && unroll_is_exact(c)) {
                c.unroll = true;
                if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
            }
        }
    }
    // The register block: one unrolled tile covering the whole (small) region, so that an
    // update's accumulators can live in registers for its whole reduction.
    if (vec_opts[0].var >= 0) {
        const int vv = vec_opts[0].var, lanes = vec_opts[0].width;
        int64_t e = std::max<int64_t>(1, box[vv].extent());
        double vectors = (double)e / lanes;
        for (int k : pure) {
            if (k != vv) vectors *= (double)std::max<int64_t>(1, box[k].extent());
        }
        if (e % lanes == 0 && vectors <= 2 * kMaxUnrolledCopies) {
            StageChoice c;
            c.tile.assign(nl, 1);
            for (int k : pure)
                c.tile[k] = std::max<int64_t>(1, box[k].extent());
            c.vector_var = vv;
            c.vector_width = lanes;
            c.unroll = vectors > 1 && unroll_is_exact(c);
            c.parallel_loops = 0;
            if (std::find(out.begin(), out.end(), c) == out.end()) out.insert(out.begin(), c);
        }
    }
    def.parallel_loops = inside_parallel ? 0 : def.parallel_loops;
    if (std::find(out.begin(), out.end(), def) == out.end()) out.push_back(def);
    return out;
}

std::vector<Decision> candidate_choices(const ScheduleState &s, int node, const SearchContext &ctx,
                                        std::mt19937_64 &rng) {
    const PipelineGraph &g = s.graph();
    const Node &n = g.node(node);
    std::vector<Decision> out;
    MachineInfo mi;
    mi.parallelism = ctx.parallelism;

    if (n.can_inline && !n.consumers.empty()) out.push_back({inline_choice(n), -1, nullptr});

    // Placements: root, and every loop of the single consumer's nest.
    struct Place {
        Placement p;
        int at_node, at_loop, store_loop;
        bool inside_parallel;
        std::shared_ptr<const FuncChoice> retile; // new choice for at_node, if any
        bool tiled_outside = false;               // region_tiled_outside() of the consumer's nest at at_loop
    };
    std::vector<Place> places = {{Placement::Root, -1, -1, -1, false, nullptr, false}};
    // compute_at a loop of consumer `cn`: the one consumer, or the consumer that every other
    // consumer is computed inside (at loop `min_level` or deeper).
    std::vector<int> cons = s.effective_consumers(node);
    int cn = -1, min_level = 0;
    for (int cand : cons) {
        int lvl = 0;
        for (int h : cons) {
            if (h == cand) continue;
            int l = s.level_within(h, cand);
            lvl = (l < 0) ? -1 : std::max(lvl, l);
            if (lvl < 0) break;
        }
        if (lvl >= 0) {
            cn = cand;
            min_level = lvl;
            break;
        }
    }
    const bool single_consumer = cons.size() == 1;
    // The dimensions of this Func that no clamp between it and `cn` shrinks (fixed_dims_within).
    const std::vector<bool> fixed_within = cn >= 0 ? fixed_dims_within(g, node, cn) : std::vector<bool>();
    if (cn >= 0 && !n.is_output) {
        const Node &c = g.node(cn);
        const FuncChoice &cc = s.choice(cn);
        if (c.stages.size() == 1 && cc.stages[0].scheduled) {
            Featurizer fz(s, mi);
            const Realization &cr = fz.realization(cn);
            const LoopNest &nest = cr.nests[0];
            // Is the consumer itself already inside a parallel loop?
            bool outer_parallel = false;
            for (const FuncChoice *p = &cc; p->placement == Placement::At;) {
                const Realization &pr = fz.realization(p->at_node);
                for (int i = p->at_loop; i < (int)pr.nests[0].loops.size(); i++)
                    outer_parallel |= pr.nests[0].loops[i].parallel;
                p = &s.choice(p->at_node);
            }
            int par_loop = (int)nest.loops.size();
            for (int i = 0; i < (int)nest.loops.size(); i++) {
                if (nest.loops[i].parallel) par_loop = i;
            }
            const bool read_through_clamps =
                std::find(fixed_within.begin(), fixed_within.end(), false) != fixed_within.end();
            for (int L = min_level; L < (int)nest.loops.size(); L++) {
                const LoopInfo &l = nest.loops[L];
                if (l.vectorized || l.unrolled || l.extent <= 1) continue;
                // Computed inside a parallel loop: the consumer's own (at or outside L), or one
                // the consumer is itself computed inside.
                const bool inside_parallel =
                    outer_parallel || (par_loop < (int)nest.loops.size() && L <= par_loop);
                const bool tiled_outside = region_tiled_outside(nest, L);
                places.push_back({Placement::At, cn, L, -1, inside_parallel, nullptr, tiled_outside});
                // Hoisted storage (sliding window) one or two loops out, never outside the parallel
                // loop; only for pure Funcs with one consumer (Halide slides and folds those), and
                // not for a Func read through clamps: Halide 14 slid an input's wrapper read by a
                // repeat_edge computed at its rows to wrong values (found by the fuzzer).
                const bool slidable = single_consumer && n.stages.size() == 1 && !read_through_clamps;
                int added = 0;
                for (int S = L + 1; slidable && S < (int)nest.loops.size() && S <= par_loop && added < 2;
                     S++) {
                    if (nest.loops[S].extent <= 1) continue;
                    places.push_back({Placement::At, cn, L, S, inside_parallel, nullptr, tiled_outside});
                    added++;
                }
            }
            // Retiled consumer: small register-sized tiles of the consumer, this reduction
            // computed per tile, when nothing is computed inside the consumer yet.
            bool consumer_free = true;
            for (int i = 0; i < g.num_nodes(); i++) {
                if (i != node && s.decided(i) && s.choice(i).placement == Placement::At &&
                    s.choice(i).at_node == cn) {
                    consumer_free = false;
                }
            }
            if (single_consumer && consumer_free && n.stages.size() > 1 && !outer_parallel) {
                SearchContext wide = ctx;
                wide.max_candidates = std::max(ctx.max_candidates, 256);
                int regs = ctx.vector_registers - 3;
                for (const StageChoice &gc :
                     stage_candidates(c.stages[0], cr.boxes[0], cc.placement == Placement::At,
                                      cc.placement == Placement::At, {}, wide, rng)) {
                    if (gc == cc.stages[0] || gc.vector_var < 0) continue;
                    LoopNest gn = build_loop_nest(c.stages[0], gc, cr.boxes[0]);
                    double vectors = 1;
                    int tile_level = -1;
                    for (int i = 0; i < (int)gn.loops.size(); i++) {
                        if (gn.loops[i].kind == LoopInfo::Inner) vectors *= (double)gn.loops[i].extent;
                        if (tile_level < 0 && gn.loops[i].kind == LoopInfo::Outer && gn.loops[i].extent > 1)
                            tile_level = i;
                    }
                    if (vectors < 2 || vectors > regs || tile_level < 0) continue;
                    auto rc = std::make_shared<FuncChoice>(cc);
                    rc->stages[0] = gc;
                    bool par_inside = false;
                    for (int i = tile_level; i < (int)gn.loops.size(); i++)
                        par_inside |= gn.loops[i].parallel;
                    places.push_back({Placement::At, cn, tile_level, -1, par_inside, rc,
                                      region_tiled_outside(gn, tile_level)});
                }
            }
        }
    }
    // A region is constant when computed inside a root output's pure stage, below the outer
    // loops of all its dimensions: its tiles are always full, the last one shifted inwards.
    // (Computed outside a dimension's tile loop, the region spans the output's whole extent
    // there, which is known only at run time: Halide guards the tails of such a region's
    // tiles, and unrolled guarded tiles sent LLVM 14's loop analysis into minutes of work.)
    // Even then, dimensions read through clamps shrink at the borders (fixed_dims_within).
    auto fixed_dims = [&](const Place &pl) {
        if (pl.p != Placement::At || !pl.tiled_outside) return std::vector<bool>();
        const Node &c = g.node(pl.at_node);
        const FuncChoice &cc = pl.retile ? *pl.retile : s.choice(pl.at_node);
        if (!c.is_output || c.stages.size() != 1 || cc.placement != Placement::Root)
            return std::vector<bool>();
        HARL_ASSERT(pl.at_node == cn, "placement inside " << c.name << ", not the consumer " << cn);
        return fixed_within;
    };
    for (const Place &pl : places) {
        auto base = std::make_shared<FuncChoice>();
        base->placement = pl.p;
        base->at_node = pl.at_node;
        base->at_loop = pl.at_loop;
        base->store_loop = pl.store_loop;
        for (const auto &st : n.stages)
            base->stages.push_back(default_stage_choice(st, st.loop_box(n.root), ctx.parallelism));
        // The region this placement realizes.
        ScheduleState probe =
            pl.retile ? s.retiled(pl.at_node, pl.retile).with(node, base) : s.with(node, base);
        Featurizer fz(probe, mi);
        const Realization &r = fz.realization(node);
        const std::vector<bool> fixed = fixed_dims(pl);
        std::vector<std::vector<StageChoice>> per_stage;
        for (size_t si = 0; si < n.stages.size(); si++) {
            SearchContext c2 = ctx;
            if (pl.retile) c2.max_candidates = std::min(ctx.max_candidates, 16);
            per_stage.push_back(stage_candidates(n.stages[si], r.boxes[si], pl.inside_parallel,
                                                 pl.p == Placement::At, fixed, c2, rng));
        }
        // Stage 0 of a reduction is usually trivial: pair the update candidates with the pure
        // stage candidate that tiles the same way when one exists, else the first.
        const std::vector<StageChoice> &lead = per_stage.back();
        for (const StageChoice &lc : lead) {
            auto fc = std::make_shared<FuncChoice>(*base);
            fc->stages.back() = lc;
            for (size_t si = 0; si + 1 < n.stages.size(); si++) {
                fc->stages[si] = per_stage[si].back(); // the default-like candidate
                for (const auto &sc : per_stage[si]) {
                    if (sc.vector_var >= 0 && lc.vector_var >= 0 &&
                        n.stages[si].loops[sc.vector_var].name == n.stages.back().loops[lc.vector_var].name &&
                        !sc.unroll) {
                        fc->stages[si] = sc;
                        break;
                    }
                }
            }
            out.push_back({fc, pl.retile ? pl.at_node : -1, pl.retile});
        }
    }
    return out;
}

} // namespace harl
