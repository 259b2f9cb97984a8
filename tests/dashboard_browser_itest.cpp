// The dashboard in a real headless Chromium against the real fleet (issue 11):
// the job page loads, its counts equal the database's, a cell changes state
// while the job runs without a reload, an execution's detail shows the stored
// answer, a hostile answer renders as text and runs no script, and a
// screenshot of the job page is written to the build folder.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "dashboard_browser.hpp"
#include "dashboard_process.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

long db_count(const std::string& sql, const std::string& job) {
  pqxx::connection c(require_env("BEACON_DATABASE_URL"));
  pqxx::read_transaction tx(c);
  return tx.exec_params1(sql, job)[0].as<long>();
}

long page_number(Browser& b, const std::string& expression) { return std::stol(b.evaluate("Number(" + expression + ")")); }

std::string js_string(const std::string& s) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

TEST(DashboardBrowser, JobPageIsLiveExactAndSafe) {
  Fleet f("dash-browser");
  f.start_sim({"--latency-ms", "500", "--jitter-ms", "100"});  // ~6 s of work: time to watch it change
  const std::vector<std::string> regions{"us-east", "eu-west", "asia-pacific"};
  f.write_endpoints(regions);
  f.start_writer();
  auto dash = start_dashboard(f);

  // Submitted before any worker runs: the page first sees every cell pending.
  const auto job = "dash-browser-" + unique_suffix();
  const auto s = f.submit(read_text(source_dir() + "/examples/beacon-job.json"), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(s.total, 72);

  Browser b(f.dir());
  b.navigate(dash.base_url + "/jobs/" + job);
  ASSERT_TRUE(b.wait_for("document.querySelectorAll('#matrix a.cell').length === 72", 20s))
      << "matrix not drawn: " << b.evaluate("document.body.innerText") << "\n" << dash.proc->output();
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#matrix a.cell[data-state=pending]').length"), 72);
  b.evaluate("window.__notReloaded = 'yes'");

  for (const auto& r : regions) f.start_worker(r, {"--concurrency", "2"});
  ASSERT_TRUE(b.wait_for("Number(document.getElementById('matrix').dataset.transitions) > 0", 60s))
      << "no cell changed state while the job ran\n" << f.logs_tail();
  EXPECT_EQ(b.evaluate("window.__notReloaded"), "\"yes\"") << "the page was reloaded";
  const bool caught_midway = f.job(job)->status != "completed";

  ASSERT_TRUE(f.wait_finished(job, 180s)) << f.logs_tail();
  ASSERT_TRUE(b.wait_for("document.getElementById('summary').dataset.status === 'completed' && "
                         "document.querySelectorAll('#matrix a.cell[data-state=pending], #matrix a.cell[data-state=running]').length === 0",
                         30s))
      << b.evaluate("document.getElementById('totals').textContent");
  EXPECT_EQ(b.evaluate("window.__notReloaded"), "\"yes\"");
  EXPECT_TRUE(caught_midway) << "the job finished before the page saw a change";
  EXPECT_EQ(b.evaluate("document.getElementById('stop-reason').hidden"), "true") << "a completed job did not stop early";

  // The counts shown equal the database's.
  const auto row = f.job(job).value();
  const long refused = db_count("SELECT count(*) FROM executions WHERE job_id = $1 AND classification = 'refused'", job);
  EXPECT_EQ(page_number(b, "document.getElementById('summary').dataset.total"), row.total);
  EXPECT_EQ(page_number(b, "document.getElementById('summary').dataset.completed"), row.completed);
  EXPECT_EQ(page_number(b, "document.getElementById('summary').dataset.failed"), row.failed);
  EXPECT_EQ(page_number(b, "document.getElementById('summary').dataset.refused"), refused);
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#matrix a.cell[data-state=refused]').length"), refused);
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#matrix a.cell[data-state=answered]').length"),
            row.completed - refused);
  EXPECT_GT(refused, 0) << "the sim refuses sensitive questions: the page should show some";

  const auto png = b.screenshot_png();
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::string shot = build_dir() + "/dashboard-job.png";
  std::ofstream(shot, std::ios::binary) << png;
  std::cout << "screenshot of the job page: " << shot << "\n";

  // An execution's detail shows the stored answer, and the other regions'.
  std::string text, model;
  {
    pqxx::connection c(require_env("BEACON_DATABASE_URL"));
    pqxx::read_transaction tx(c);
    auto r = tx.exec_params1(
        "SELECT output->>'text', model_id FROM executions WHERE job_id = $1 AND region = 'eu-west' "
        "AND question_id = 'math_basic' AND sample = 0 ORDER BY model_id LIMIT 1",
        job);
    text = r[0].as<std::string>();
    model = r[1].as<std::string>();
  }
  const std::string exec_url = dash.base_url + "/jobs/" + job + "/execution?region=eu-west&model=" + model +
                               "&question=math_basic&sample=0";
  b.navigate(exec_url);
  ASSERT_TRUE(b.wait_for("document.body.dataset.loaded === 'true'", 20s)) << b.evaluate("document.body.innerText");
  EXPECT_EQ(b.evaluate("document.getElementById('answer').textContent"), js_string(text));
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#regions .region').length"), 3);
  EXPECT_EQ(b.evaluate("document.getElementById('prompt').textContent"), js_string("What is 2+2?"));

  // A hostile answer is text: no element made from it, no script run.
  const std::string hostile =
      "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"><b>bold?</b>";
  {
    pqxx::connection c(require_env("BEACON_DATABASE_URL"));
    pqxx::work tx(c);
    tx.exec_params("UPDATE executions SET output = jsonb_set(output, '{text}', to_jsonb($2::text)) "
                   "WHERE job_id = $1 AND region = 'us-east' AND model_id = $3 AND question_id = 'math_basic' AND sample = 0",
                   job, hostile, model);
    tx.commit();
  }
  b.navigate(dash.base_url + "/jobs/" + job + "/execution?region=us-east&model=" + model + "&question=math_basic&sample=0");
  ASSERT_TRUE(b.wait_for("document.body.dataset.loaded === 'true'", 20s));
  EXPECT_EQ(b.evaluate("document.getElementById('answer').textContent"), js_string(hostile));
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#answer *, #regions pre *, img, b').length"), 0);
  // Give an onerror handler every chance to run before looking.
  b.evaluate("new Promise((resolve) => setTimeout(resolve, 500))");
  EXPECT_EQ(b.evaluate("typeof window.__pwned"), "\"undefined\"") << "the answer ran as script";

  // The report view draws the refusal heat map from the stored rows.
  b.navigate(dash.base_url + "/jobs/" + job + "/report");
  ASSERT_TRUE(b.wait_for("document.body.dataset.loaded === 'true'", 20s)) << b.evaluate("document.body.innerText");
  EXPECT_EQ(page_number(b, "document.querySelectorAll('#heat tbody tr').length"), 8);

  // The recent jobs page lists the job.
  b.navigate(dash.base_url + "/");
  EXPECT_TRUE(b.wait_for("document.querySelector('#jobs tr[data-job=' + JSON.stringify(" + js_string(job) + ") + ']') !== null", 20s));

  // A job stopped early says why (here `cancel`; a budget stop the same way).
  const auto stopped = "dash-stopped-" + unique_suffix();
  ASSERT_EQ(f.submit(read_text(source_dir() + "/examples/beacon-job.json"), stopped).exit_code, 0);
  const auto c = f.producer({"cancel", stopped});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  ASSERT_TRUE(f.wait_finished(stopped, 60s)) << f.logs_tail();
  b.navigate(dash.base_url + "/jobs/" + stopped);
  EXPECT_TRUE(b.wait_for("document.getElementById('stop-reason').hidden === false && "
                         "document.getElementById('stop-reason').textContent === 'stopped: cancelled'",
                         20s))
      << b.evaluate("document.getElementById('summary').innerText");

  EXPECT_EQ(dash.proc->stop(10s), 0) << dash.proc->output();
}

}  // namespace beacon::test
