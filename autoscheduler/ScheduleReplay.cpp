#include "ScheduleReplay.h"
#include "Errors.h"

#include <map>
#include <regex>
#include <sstream>

namespace harl {

namespace {

const char *const kBlockStart = "// Decisions:\n";
const char *const kLinePrefix = "//   ";

std::string without_unique_numbers(const std::string &name) {
    static const std::regex numbers("[$_][0-9]+");
    return std::regex_replace(name, numbers, "");
}

int64_t parse_int(const std::string &token, const std::string &line) {
    try {
        size_t used = 0;
        const long long v = std::stoll(token, &used);
        if (used == token.size()) return v;
    } catch (const std::exception &) {
    }
    throw HarlError("schedule decisions: '" + token + "' is not a number in line: " + line);
}

// "tiles 16 8 vec 0x16 unroll par 1 default" (the tokens after one "|").
StageChoice parse_stage(std::istringstream &in, const std::string &line) {
    StageChoice sc;
    std::string tok;
    if (!(in >> tok) || tok != "tiles")
        throw HarlError("schedule decisions: expected 'tiles' in line: " + line);
    while (in >> tok && tok != "|") {
        if (tok == "vec") {
            std::string vw;
            in >> vw;
            const size_t x = vw.find('x');
            if (x == std::string::npos)
                throw HarlError("schedule decisions: bad 'vec " + vw + "' in line: " + line);
            sc.vector_var = (int)parse_int(vw.substr(0, x), line);
            sc.vector_width = (int)parse_int(vw.substr(x + 1), line);
        } else if (tok == "unroll") {
            sc.unroll = true;
        } else if (tok == "par") {
            in >> tok;
            sc.parallel_loops = (int)parse_int(tok, line);
        } else if (tok == "default") {
            sc.scheduled = false;
        } else {
            sc.tile.push_back(parse_int(tok, line));
        }
    }
    if (tok == "|") in.putback('|'); // the next stage's separator: leave it to the caller
    return sc;
}

} // namespace

bool same_func_name(const std::string &a, const std::string &b) {
    return without_unique_numbers(a) == without_unique_numbers(b);
}

std::string decisions_block(const std::string &source) {
    const size_t start = source.find(kBlockStart);
    if (start == std::string::npos) return "";
    std::istringstream lines(source.substr(start + std::string(kBlockStart).size()));
    std::string out;
    for (std::string line; std::getline(lines, line) && line.rfind(kLinePrefix, 0) == 0;)
        out += line.substr(std::string(kLinePrefix).size()) + "\n";
    return out;
}

ScheduleState replay_decisions(const PipelineGraph &g, int parallelism, const std::string &source) {
    const std::string block = decisions_block(source);
    if (block.empty()) throw HarlError("schedule source has no '// Decisions:' block to replay");
    const std::vector<int> order = g.decision_order();
    std::vector<std::string> lines;
    std::istringstream in(block);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    if (lines.size() != order.size()) {
        throw HarlError("schedule decisions name " + std::to_string(lines.size()) +
                        " Funcs, the pipeline has " + std::to_string(order.size()) +
                        " (another pipeline, or rebuilt differently)");
    }
    std::map<std::string, int> node_of; // names as written -> nodes of g
    std::vector<std::string> rest(lines.size());
    for (size_t i = 0; i < lines.size(); i++) {
        const size_t colon = lines[i].find(": ");
        if (colon == std::string::npos)
            throw HarlError("schedule decisions: no 'name:' in line: " + lines[i]);
        const std::string name = lines[i].substr(0, colon);
        const Node &n = g.node(order[i]);
        if (!same_func_name(name, n.name)) {
            throw HarlError("schedule decisions: Func " + std::to_string(i) + " is " + name +
                            ", the pipeline's is " + n.name + " (another pipeline, or rebuilt differently)");
        }
        node_of[name] = order[i];
        rest[i] = lines[i].substr(colon + 2);
    }
    ScheduleState s(g, parallelism);
    // Consumers come first in decision order, so a compute_at names a Func already decided.
    for (size_t i = 0; i < lines.size(); i++) {
        const Node &n = g.node(order[i]);
        std::istringstream ts(rest[i]);
        std::string tok;
        ts >> tok;
        auto fc = tok == "inline" ? inline_choice(n) : std::make_shared<FuncChoice>();
        if (tok == "root") {
            fc->placement = Placement::Root;
        } else if (tok == "at") {
            fc->placement = Placement::At;
            std::string at, word, num;
            ts >> at >> word >> num;
            auto it = node_of.find(at);
            if (it == node_of.end() || word != "loop")
                throw HarlError("schedule decisions: bad 'at' in line: " + lines[i]);
            fc->at_node = it->second;
            fc->at_loop = (int)parse_int(num, lines[i]);
            std::streampos before = ts.tellg();
            if (ts >> word && word == "store") {
                ts >> num;
                fc->store_loop = (int)parse_int(num, lines[i]);
            } else {
                ts.clear();
                ts.seekg(before);
            }
            if (!s.decided(fc->at_node)) {
                throw HarlError("schedule decisions: " + n.name + " is computed at " + at +
                                ", which comes after it in decision order");
            }
        } else if (tok != "inline") {
            throw HarlError("schedule decisions: expected inline, root or at in line: " + lines[i]);
        }
        while (ts >> tok) {
            if (tok != "|")
                throw HarlError("schedule decisions: unexpected '" + tok + "' in line: " + lines[i]);
            fc->stages.push_back(parse_stage(ts, lines[i]));
        }
        if (fc->stages.size() != n.stages.size()) {
            throw HarlError("schedule decisions: " + n.name + " has " + std::to_string(n.stages.size()) +
                            " stages, its line schedules " + std::to_string(fc->stages.size()));
        }
        for (size_t si = 0; si < fc->stages.size(); si++) {
            if (fc->stages[si].scheduled && fc->stages[si].tile.size() != n.stages[si].loops.size()) {
                throw HarlError("schedule decisions: stage " + n.stages[si].name + " has " +
                                std::to_string(n.stages[si].loops.size()) + " loops, its line tiles " +
                                std::to_string(fc->stages[si].tile.size()));
            }
        }
        s = s.with(order[i], std::move(fc));
    }
    HARL_ASSERT(s.complete(), "replayed schedule is incomplete");
    // The replay is exact when the state describes itself as the block did.
    std::istringstream again(s.describe());
    for (size_t i = 0; i < lines.size(); i++) {
        std::string line;
        std::getline(again, line);
        if (without_unique_numbers(line) != without_unique_numbers(lines[i])) {
            throw HarlError("schedule decisions: replayed '" + line + "' for '" + lines[i] + "'");
        }
    }
    return s;
}

} // namespace harl
