#include "Dataset.h"
#include "Errors.h"
#include "Hash.h"

#include <sstream>

#include <sqlite3.h>

namespace harl {
namespace {

// A prepared statement that finalizes itself and reports errors with the database's message.
class Statement {
  public:
    Statement(sqlite3 *db, const std::string &sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) {
            throw HarlError(std::string("SQLite: ") + sqlite3_errmsg(db) + " in: " + sql);
        }
    }
    ~Statement() { sqlite3_finalize(st_); }
    Statement &bind(int i, const std::string &v) {
        sqlite3_bind_text(st_, i, v.c_str(), (int)v.size(), SQLITE_TRANSIENT);
        return *this;
    }
    Statement &bind(int i, double v) {
        sqlite3_bind_double(st_, i, v);
        return *this;
    }
    Statement &bind(int i, long long v) {
        sqlite3_bind_int64(st_, i, v);
        return *this;
    }
    Statement &bind(int i, int v) { return bind(i, (long long)v); }
    Statement &bind_blob(int i, const std::vector<uint8_t> &v) {
        sqlite3_bind_blob(st_, i, v.data(), (int)v.size(), SQLITE_TRANSIENT);
        return *this;
    }
    // Steps once: true while a row is available.
    bool step() {
        int rc = sqlite3_step(st_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw HarlError(std::string("SQLite: ") + sqlite3_errmsg(db_));
    }
    std::string text(int i) {
        const unsigned char *t = sqlite3_column_text(st_, i);
        return t ? std::string((const char *)t) : std::string();
    }
    double real(int i) { return sqlite3_column_double(st_, i); }
    long long integer(int i) { return sqlite3_column_int64(st_, i); }
    std::vector<uint8_t> blob(int i) {
        const uint8_t *b = (const uint8_t *)sqlite3_column_blob(st_, i);
        return b ? std::vector<uint8_t>(b, b + sqlite3_column_bytes(st_, i)) : std::vector<uint8_t>();
    }

  private:
    sqlite3 *db_;
    sqlite3_stmt *st_ = nullptr;
};

const char *kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS pipelines(
  key TEXT PRIMARY KEY, seed INTEGER, generator_version INTEGER, scale INTEGER, stages INTEGER,
  kinds TEXT, status TEXT, message TEXT);
CREATE TABLE IF NOT EXISTS schedules(
  pipeline TEXT, candidate INTEGER, options TEXT, source TEXT, source_hash TEXT,
  duplicate_of INTEGER, predicted_s REAL, search_s REAL, PRIMARY KEY(pipeline, candidate));
CREATE TABLE IF NOT EXISTS samples(
  pipeline TEXT, candidate INTEGER, machine TEXT, target TEXT, machine_params TEXT, status TEXT,
  runtime_s REAL, median_s REAL, compile_s REAL, runs INTEGER, layout_version INTEGER,
  features BLOB, message TEXT, PRIMARY KEY(pipeline, candidate, machine));
CREATE TABLE IF NOT EXISTS func_profiles(
  pipeline TEXT, candidate INTEGER, machine TEXT, features_hash TEXT, stage INTEGER, func TEXT,
  func_ms REAL, total_ms REAL, PRIMARY KEY(pipeline, candidate, machine, stage));
)SQL";

} // namespace

Dataset::Dataset(const std::string &path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw HarlError("cannot open dataset '" + path + "': " + msg);
    }
    sqlite3_busy_timeout(db_, 30000);
    try {
        exec("PRAGMA journal_mode=WAL;");
        exec("PRAGMA synchronous=NORMAL;");
        exec(kSchema);
    } catch (const HarlError &e) {
        sqlite3_close(db_);
        throw HarlError("dataset '" + path + "' is not a usable HARL database: " + e.what());
    }
}

Dataset::~Dataset() {
    sqlite3_close(db_);
}

void Dataset::exec(const std::string &sql) {
    char *err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw HarlError("SQLite: " + msg);
    }
}

std::string Dataset::pipeline_status(const std::string &key) {
    Statement st(db_, "SELECT status FROM pipelines WHERE key=?");
    st.bind(1, key);
    return st.step() ? st.text(0) : std::string();
}

void Dataset::begin_pipeline(const std::string &key, uint64_t seed, int generator_version, int scale,
                             int stages, const std::string &kinds) {
    Statement st(db_, "INSERT OR IGNORE INTO pipelines VALUES(?,?,?,?,?,?,'running','')");
    st.bind(1, key)
        .bind(2, (long long)seed)
        .bind(3, generator_version)
        .bind(4, scale)
        .bind(5, stages)
        .bind(6, kinds);
    st.step();
}

void Dataset::finish_pipeline(const std::string &key, const std::string &status, const std::string &message) {
    Statement st(db_, "UPDATE pipelines SET status=?, message=? WHERE key=?");
    st.bind(1, status).bind(2, message).bind(3, key);
    st.step();
}

std::vector<int> Dataset::recorded_candidates(const std::string &key) {
    Statement st(db_, "SELECT candidate FROM schedules WHERE pipeline=? ORDER BY candidate");
    st.bind(1, key);
    std::vector<int> out;
    while (st.step())
        out.push_back((int)st.integer(0));
    return out;
}

std::vector<std::pair<int, std::string>> Dataset::schedule_hashes(const std::string &key) {
    Statement st(db_, "SELECT candidate, source_hash FROM schedules WHERE pipeline=? ORDER BY candidate");
    st.bind(1, key);
    std::vector<std::pair<int, std::string>> out;
    while (st.step())
        out.emplace_back((int)st.integer(0), st.text(1));
    return out;
}

void Dataset::insert_sample(const SampleRecord &sample) {
    Statement sm(db_, "INSERT OR REPLACE INTO samples VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sm.bind(1, sample.pipeline).bind(2, sample.candidate).bind(3, sample.machine);
    sm.bind(4, sample.target).bind(5, sample.machine_params).bind(6, sample.status);
    sm.bind(7, sample.runtime_s).bind(8, sample.median_s).bind(9, sample.compile_s);
    sm.bind(10, sample.runs).bind(11, (long long)sample.layout_version).bind_blob(12, sample.features);
    sm.bind(13, sample.message);
    sm.step();
}

void Dataset::record_sample(const SampleRecord &sample) {
    insert_sample(sample); // one statement: its own transaction
}

bool Dataset::has_sample(const std::string &pipeline, int candidate, const std::string &machine) {
    Statement st(db_, "SELECT 1 FROM samples WHERE pipeline=? AND candidate=? AND machine=?");
    st.bind(1, pipeline).bind(2, candidate).bind(3, machine);
    return st.step();
}

std::string features_hash(const std::vector<uint8_t> &featurization) {
    std::ostringstream os;
    os << std::hex << fnv1a(featurization.data(), featurization.size());
    return os.str();
}

void Dataset::record_profile(const FuncProfileRecord &p) {
    HARL_ASSERT(p.stage_func.size() == p.func_ms.size(), "profile of " << p.pipeline << ": "
                                                                       << p.stage_func.size() << " stages, "
                                                                       << p.func_ms.size() << " times");
    exec("BEGIN IMMEDIATE");
    try {
        Statement del(db_, "DELETE FROM func_profiles WHERE pipeline=? AND candidate=? AND machine=?");
        del.bind(1, p.pipeline).bind(2, p.candidate).bind(3, p.machine).step();
        for (size_t i = 0; i < p.stage_func.size(); i++) {
            Statement st(db_, "INSERT INTO func_profiles VALUES(?,?,?,?,?,?,?,?)");
            st.bind(1, p.pipeline)
                .bind(2, p.candidate)
                .bind(3, p.machine)
                .bind(4, p.features_hash)
                .bind(5, (int)i)
                .bind(6, p.stage_func[i])
                .bind(7, p.func_ms[i])
                .bind(8, p.total_ms)
                .step();
        }
        exec("COMMIT");
    } catch (...) {
        exec("ROLLBACK");
        throw;
    }
}

bool Dataset::has_profile(const std::string &pipeline, int candidate, const std::string &machine) {
    Statement st(db_, "SELECT 1 FROM func_profiles WHERE pipeline=? AND candidate=? AND machine=?");
    st.bind(1, pipeline).bind(2, candidate).bind(3, machine);
    return st.step();
}

std::vector<FuncProfileRecord> Dataset::profiles() {
    Statement st(db_, "SELECT pipeline, candidate, machine, features_hash, stage, func, func_ms, total_ms "
                      "FROM func_profiles ORDER BY pipeline, candidate, machine, stage");
    std::vector<FuncProfileRecord> out;
    while (st.step()) {
        const std::string pipeline = st.text(0), machine = st.text(2);
        const int candidate = (int)st.integer(1);
        if (out.empty() || out.back().pipeline != pipeline || out.back().candidate != candidate ||
            out.back().machine != machine) {
            out.emplace_back();
            out.back().pipeline = pipeline;
            out.back().candidate = candidate;
            out.back().machine = machine;
            out.back().features_hash = st.text(3);
            out.back().total_ms = st.real(7);
        }
        FuncProfileRecord &p = out.back();
        if ((long long)p.stage_func.size() != st.integer(4))
            throw HarlError("dataset '" + path_ + "': the profile of " + pipeline + " candidate " +
                            std::to_string(candidate) + " lacks stage " +
                            std::to_string(p.stage_func.size()));
        p.stage_func.push_back(st.text(5));
        p.func_ms.push_back(st.real(6));
    }
    return out;
}

void Dataset::record(const ScheduleRecord &s, const SampleRecord *sample) {
    exec("BEGIN IMMEDIATE");
    try {
        Statement st(db_, "INSERT OR REPLACE INTO schedules VALUES(?,?,?,?,?,?,?,?)");
        st.bind(1, s.pipeline)
            .bind(2, s.candidate)
            .bind(3, s.options)
            .bind(4, s.source)
            .bind(5, s.source_hash);
        st.bind(6, s.duplicate_of).bind(7, s.predicted_s).bind(8, s.search_s);
        st.step();
        if (sample) insert_sample(*sample);
        exec("COMMIT");
    } catch (...) {
        exec("ROLLBACK");
        throw;
    }
}

std::vector<SampleRecord> Dataset::ok_samples() {
    Statement st(db_, "SELECT pipeline, candidate, machine, target, machine_params, runtime_s, median_s, "
                      "compile_s, runs, layout_version, features FROM samples WHERE status='ok' "
                      "ORDER BY pipeline, candidate");
    std::vector<SampleRecord> out;
    while (st.step()) {
        SampleRecord r;
        r.pipeline = st.text(0);
        r.candidate = (int)st.integer(1);
        r.machine = st.text(2);
        r.target = st.text(3);
        r.machine_params = st.text(4);
        r.status = "ok";
        r.runtime_s = st.real(5);
        r.median_s = st.real(6);
        r.compile_s = st.real(7);
        r.runs = (int)st.integer(8);
        r.layout_version = (uint32_t)st.integer(9);
        r.features = st.blob(10);
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<Dataset::SourcedSample> Dataset::sourced_samples() {
    Statement st(db_, "SELECT s.pipeline, s.candidate, s.machine, s.target, s.machine_params, s.status, "
                      "s.layout_version, s.features, p.seed, c.source, s.runtime_s "
                      "FROM samples s "
                      "JOIN pipelines p ON p.key = s.pipeline JOIN schedules c ON c.pipeline = s.pipeline "
                      "AND c.candidate = s.candidate ORDER BY s.pipeline, s.candidate");
    std::vector<SourcedSample> out;
    while (st.step()) {
        SourcedSample r;
        r.sample.pipeline = st.text(0);
        r.sample.candidate = (int)st.integer(1);
        r.sample.machine = st.text(2);
        r.sample.target = st.text(3);
        r.sample.machine_params = st.text(4);
        r.sample.status = st.text(5);
        r.sample.layout_version = (uint32_t)st.integer(6);
        r.sample.features = st.blob(7);
        r.seed = st.integer(8);
        r.source = st.text(9);
        r.sample.runtime_s = st.real(10);
        out.push_back(std::move(r));
    }
    return out;
}

void Dataset::set_features(const SampleRecord &s) {
    Statement st(db_, "UPDATE samples SET layout_version=?, features=? WHERE pipeline=? AND candidate=? AND "
                      "machine=?");
    st.bind(1, (long long)s.layout_version).bind_blob(2, s.features).bind(3, s.pipeline).bind(4, s.candidate);
    st.bind(5, s.machine).step();
}

void Dataset::delete_sample(const SampleRecord &s) {
    Statement st(db_, "DELETE FROM samples WHERE pipeline=? AND candidate=? AND machine=?");
    st.bind(1, s.pipeline).bind(2, s.candidate).bind(3, s.machine).step();
}

int Dataset::strip_sources() {
    std::vector<std::pair<std::string, int>> keys;
    std::vector<std::string> headers;
    {
        Statement st(db_, "SELECT pipeline, candidate, source FROM schedules");
        while (st.step()) {
            const std::string src = st.text(2);
            const size_t end = src.find("\n\n"); // the header comment ends with an empty line
            if (end == std::string::npos) continue;
            keys.emplace_back(st.text(0), (int)st.integer(1));
            headers.push_back(src.substr(0, end + 1));
        }
    }
    exec("BEGIN IMMEDIATE");
    try {
        for (size_t i = 0; i < keys.size(); i++) {
            Statement up(db_, "UPDATE schedules SET source=? WHERE pipeline=? AND candidate=?");
            up.bind(1, headers[i]).bind(2, keys[i].first).bind(3, keys[i].second).step();
        }
        exec("COMMIT");
    } catch (...) {
        exec("ROLLBACK");
        throw;
    }
    return (int)keys.size();
}

Dataset::Counts Dataset::counts() {
    Counts c;
    Statement a(db_, "SELECT SUM(status='done'), SUM(status='failed') FROM pipelines");
    if (a.step()) {
        c.pipelines_done = (int)a.integer(0);
        c.pipelines_failed = (int)a.integer(1);
    }
    Statement b(db_, "SELECT SUM(status='ok'), SUM(status!='ok') FROM samples");
    if (b.step()) {
        c.samples_ok = (int)b.integer(0);
        c.samples_bad = (int)b.integer(1);
    }
    return c;
}

int Dataset::merge_from(const std::string &other_path, bool with_samples) {
    Dataset check(other_path); // a clear error if it is not a HARL dataset
    int before = sqlite3_total_changes(db_);
    Statement at(db_, "ATTACH DATABASE ? AS other");
    at.bind(1, other_path);
    at.step();
    try {
        exec("BEGIN IMMEDIATE");
        exec("INSERT OR IGNORE INTO schedules SELECT * FROM other.schedules");
        if (with_samples) {
            exec("INSERT OR IGNORE INTO samples SELECT * FROM other.samples");
            // Whole profiles only: a schedule profiled in both files keeps this file's.
            exec("INSERT INTO func_profiles SELECT * FROM other.func_profiles o WHERE NOT EXISTS (SELECT 1 "
                 "FROM func_profiles m WHERE m.pipeline=o.pipeline AND m.candidate=o.candidate AND "
                 "m.machine=o.machine)");
        }
        // A pipeline finished in either file is finished in the merge.
        exec("INSERT OR IGNORE INTO pipelines SELECT * FROM other.pipelines");
        exec("UPDATE pipelines SET status='done' WHERE status!='done' AND key IN "
             "(SELECT key FROM other.pipelines WHERE status='done')");
        exec("COMMIT");
    } catch (...) {
        exec("ROLLBACK");
        exec("DETACH DATABASE other");
        throw;
    }
    int added = sqlite3_total_changes(db_) - before;
    exec("DETACH DATABASE other");
    return added;
}

} // namespace harl
