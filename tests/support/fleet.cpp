#include "fleet.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <beacon/amqp/client.hpp>
#include <beacon/amqp/topology.hpp>

#include "wait.hpp"

namespace beacon::test {

namespace fs = std::filesystem;
namespace http = boost::beast::http;

std::string require_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    ADD_FAILURE() << name << " is not set: integration tests need the broker and database that "
                  << "scripts/test.sh starts (run the tests through it)";
    throw std::runtime_error(std::string(name) + " not set");
  }
  return v;
}

std::string unique_suffix() {
  static std::mt19937_64 rng(std::random_device{}());
  std::ostringstream s;
  s << std::hex << (rng() & 0xffffffffull);
  return s.str();
}

Fleet::Fleet(const std::string& name) {
  amqp_url_ = require_env("BEACON_AMQP_URL");
  db_url_ = require_env("BEACON_DATABASE_URL");
  dir_ = (fs::temp_directory_path() / ("beacon-" + name + "-" + unique_suffix())).string();
  fs::create_directories(dir_);
}

Fleet::~Fleet() {
  // Workers and writers first (they depend on the sim), SIGTERM then SIGKILL.
  for (auto& p : procs_)
    if (p->running()) p->signal(SIGTERM);
  for (auto& p : procs_)
    if (!p->wait(std::chrono::seconds(20))) p->kill();
  if (sim_ && sim_->running() && !sim_->stop(std::chrono::seconds(5))) sim_->kill();
  delete_region_queues();
  if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
}

void Fleet::delete_region_queues() {
  if (regions_.empty()) return;
  try {
    amqp::Client c(amqp::ClientOptions{amqp_url_, "beacon-test-fleet-cleanup"});
    c.connect();
    for (const auto& r : regions_) {
      c.delete_queue(amqp::exec_queue(r));
      for (const auto& job : jobs_) c.delete_queue(amqp::lane_queue(r, job));  // a job's lane, if it had one
    }
    c.close();
  } catch (const std::exception& e) {
    // The test's verdict is already in; a broker that is gone now only
    // leaves queues behind, which the next clean run of scripts/test.sh drops.
    std::cerr << "fleet " << dir_ << ": could not delete its queues: " << e.what() << "\n";
  }
}

std::map<std::string, std::string> Fleet::env() const {
  std::map<std::string, std::string> e{{"BEACON_AMQP_URL", amqp_url_}, {"BEACON_DATABASE_URL", db_url_}};
  if (!endpoints_path_.empty()) e["BEACON_ENDPOINTS"] = endpoints_path_;
  return e;
}

std::string Fleet::start_sim(std::vector<std::string> extra_args) {
  std::vector<std::string> argv{build_dir() + "/beacon-infer-sim", "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  sim_ = std::make_unique<Process>(argv, env(), dir_ + "/sim.log");
  std::smatch m;
  std::regex listening("listening on [0-9.]+:([0-9]+)");
  bool up = eventually(
      [&] {
        auto out = sim_->output();
        if (std::regex_search(out, m, listening)) {
          sim_port_ = std::stoi(m[1]);
          return true;
        }
        return !sim_->running();
      },
      std::chrono::seconds(20));
  if (!up || sim_port_ == 0) throw std::runtime_error("beacon-infer-sim did not start: " + sim_->output());
  sim_url_ = "http://127.0.0.1:" + std::to_string(sim_port_);
  return sim_url_;
}

std::string Fleet::write_file(const std::string& name, const std::string& text) {
  auto path = dir_ + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string Fleet::write_endpoints(const std::vector<std::string>& regions, const std::string& defaults_json) {
  std::ostringstream s;
  s << "{\"defaults\": " << defaults_json << ", \"endpoints\": [";
  regions_.insert(regions.begin(), regions.end());
  for (std::size_t i = 0; i < regions.size(); ++i)
    s << (i ? "," : "") << "{\"region\":\"" << regions[i] << "\",\"model\":\"*\",\"url\":\"" << sim_url_ << "/v1\"}";
  s << "]}";
  endpoints_path_ = write_file("endpoints.json", s.str());
  return endpoints_path_;
}

Process& Fleet::start_writer(std::vector<std::string> extra_args) {
  std::vector<std::string> argv{build_dir() + "/beacon-progress-writer"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  procs_.push_back(std::make_unique<Process>(argv, env(), dir_ + "/writer-" + std::to_string(counter_++) + ".log"));
  return *procs_.back();
}

Process& Fleet::start_worker(const std::string& region, std::vector<std::string> extra_args,
                             const std::map<std::string, std::string>& env_overrides) {
  regions_.insert(region);
  std::vector<std::string> argv{build_dir() + "/beacon-worker", "--region", region};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto e = env();
  for (const auto& [k, v] : env_overrides) e[k] = v;
  procs_.push_back(std::make_unique<Process>(
      argv, e, dir_ + "/worker-" + region + "-" + std::to_string(counter_++) + ".log"));
  return *procs_.back();
}

RunResult Fleet::producer(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  args.insert(args.begin(), build_dir() + "/beacon-producer");
  return run(args, env(), timeout);
}

SubmitSummary Fleet::submit(const std::string& spec_json, const std::string& job_id) {
  rapidjson::Document spec;
  spec.Parse(spec_json.c_str());
  if (!spec.HasParseError() && spec.IsObject() && spec.HasMember("regions") && spec["regions"].IsArray())
    for (const auto& r : spec["regions"].GetArray())
      if (r.IsString()) regions_.insert(r.GetString());
  jobs_.insert(job_id);
  auto path = write_file("spec-" + std::to_string(counter_++) + ".json", spec_json);
  auto r = producer({"submit", path, "--job-id", job_id});
  SubmitSummary s;
  s.exit_code = r.exit_code;
  s.out = r.out;
  s.err = r.err;
  rapidjson::Document d;
  d.Parse(r.out.c_str());
  if (!d.HasParseError() && d.IsObject() && d.HasMember("job_id")) {
    s.job_id = d["job_id"].GetString();
    s.total = d["total"].GetInt64();
    s.enqueued = d["enqueued"].GetInt64();
    s.skipped = d["skipped"].GetInt64();
  }
  return s;
}

std::optional<JobRow> Fleet::job(const std::string& job_id) {
  pqxx::connection c(db_url_);
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params(
      "SELECT status, total, completed, failed, cancelled, running, progress::float8, finished_at IS NOT NULL "
      "FROM jobs WHERE job_id = $1",
      job_id);
  if (r.empty()) return std::nullopt;
  JobRow j;
  j.status = r[0][0].as<std::string>();
  j.total = r[0][1].as<long>();
  j.completed = r[0][2].as<long>();
  j.failed = r[0][3].as<long>();
  j.cancelled = r[0][4].as<long>();
  j.running = r[0][5].as<long>();
  j.progress = r[0][6].as<double>();
  j.finished_at_set = r[0][7].as<bool>();
  return j;
}

ExecCounts Fleet::executions(const std::string& job_id) {
  pqxx::connection c(db_url_);
  pqxx::read_transaction tx(c);
  auto r = tx.exec_params(
      "SELECT count(*), count(DISTINCT (region, model_id, question_id, sample)), "
      "count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'), "
      "count(*) FILTER (WHERE status = 'cancelled'), count(*) FILTER (WHERE status = 'running'), "
      "count(*) FILTER (WHERE status = 'pending') FROM executions WHERE job_id = $1",
      job_id);
  ExecCounts e;
  e.rows = r[0][0].as<long>();
  e.distinct_keys = r[0][1].as<long>();
  e.completed = r[0][2].as<long>();
  e.failed = r[0][3].as<long>();
  e.cancelled = r[0][4].as<long>();
  e.running = r[0][5].as<long>();
  e.pending = r[0][6].as<long>();
  return e;
}

bool Fleet::wait_finished(const std::string& job_id, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        auto j = job(job_id);
        return j && (j->status == "completed" || j->status == "failed" || j->status == "cancelled");
      },
      timeout, std::chrono::milliseconds(200));
}

static std::string http_request(const std::string& host, int port, http::verb verb, const std::string& target,
                                const std::string& body) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver resolver(io);
    boost::beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, std::to_string(port)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    boost::beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return res.body();
  } catch (const std::exception&) {
    return "";
  }
}

std::string Fleet::http_get(const std::string& host, int port, const std::string& target) {
  return http_request(host, port, http::verb::get, target, "");
}
std::string Fleet::http_post(const std::string& host, int port, const std::string& target, const std::string& body) {
  return http_request(host, port, http::verb::post, target, body);
}

static long stats_field(const std::string& body, const char* field) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember(field) || !d[field].IsInt64()) {
    ADD_FAILURE() << "the sim's /stats has no integer '" << field << "' (is it still running?): " << body;
    return -1;
  }
  return d[field].GetInt64();
}

long Fleet::sim_requests() { return stats_field(http_get("127.0.0.1", sim_port_, "/stats"), "requests"); }
long Fleet::sim_in_flight() { return stats_field(http_get("127.0.0.1", sim_port_, "/stats"), "in_flight"); }
long Fleet::sim_duplicates() { return stats_field(http_get("127.0.0.1", sim_port_, "/stats"), "duplicates"); }

std::string Fleet::logs_tail(std::size_t bytes) const {
  std::ostringstream s;
  auto tail = [&](const std::string& name, const std::string& text) {
    s << "---- " << name << " ----\n" << (text.size() > bytes ? text.substr(text.size() - bytes) : text) << "\n";
  };
  if (sim_) tail(sim_->log_path(), sim_->output());
  for (const auto& p : procs_) tail(p->log_path(), p->output());
  return s.str();
}

std::optional<double> metric_value(const std::string& exposition, const std::string& name) {
  std::optional<double> total;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0) continue;
    auto rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '{') continue;  // a longer name
    auto sp = line.rfind(' ');
    total = total.value_or(0) + std::stod(line.substr(sp + 1));
  }
  return total;
}

}  // namespace beacon::test
