// ScheduleReplay: rebuilds the ScheduleState HARL chose from the "// Decisions:" block at the
// top of every .schedule.h it writes (ScheduleState::describe(), one line per Func in decision
// order). A schedule collected and measured once can so be featurized again, under a newer
// feature layout, without searching or measuring it again (harl-collect --refeaturize).
//
// Funcs are matched by position in decision order, and each line's name must be the Func's
// name up to the numbers of Halide's unique names (which differ between processes that built
// the same pipeline). Anything that does not fit the pipeline is a HarlError saying what.
#pragma once

#include "ScheduleState.h"

#include <string>

namespace harl {

// Whether two names are one Func's in two processes: equal but for the numbers Halide's
// unique-name counters put in them, "$N" suffixes and the "_N" an rfactor intermediate gets in
// place of its Func's "$N" ("hist_5$49_intm" in one process is "hist_5_32_intm$44" in another).
bool same_func_name(const std::string &a, const std::string &b);

// The decision lines of a HARL schedule source ("" when it has no "// Decisions:" block).
std::string decisions_block(const std::string &schedule_source);

// The complete schedule the block describes, for `g` (built from the same pipeline, target and
// rfactor rounds as when it was written).
ScheduleState replay_decisions(const PipelineGraph &g, int parallelism, const std::string &schedule_source);

} // namespace harl
