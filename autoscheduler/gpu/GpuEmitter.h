// GpuEmitter: the scheduling directives of a complete GpuSchedule (see GpuSchedule.h for the
// loop structure), applied and printed by ScheduleEmitter like CPU schedules.
#pragma once

#include "../ScheduleEmitter.h"
#include "GpuSchedule.h"

namespace harl {

std::vector<Directive> make_gpu_directives(const GpuSchedule &s);

} // namespace harl
