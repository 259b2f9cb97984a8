// Issue 8 item 7: broker flow control. A memory alarm on the private broker
// of the test services ($BEACON_RABBITMQCTL) blocks every connection that
// publishes. `submit` must not hang: it waits up to
// BEACON_SUBMIT_CONFIRM_TIMEOUT_S, exits 4 saying why, and a submit after the
// alarm is lifted enqueues exactly the job's executions.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/process.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

std::string diagnostics_path() {
  const std::string ctl = require_env("BEACON_RABBITMQCTL");
  return ctl.substr(0, ctl.rfind('/') + 1) + "rabbitmq-diagnostics";
}

bool memory_alarm_on() {
  auto r = run({diagnostics_path(), "-q", "alarms"}, {}, 60s);
  return r.exit_code == 0 && r.out.find("emory alarm") != std::string::npos;  // "Memory alarm on node ..."
}

// Raises the broker's memory alarm for the scope; always lifts it (the
// watermark of scripts/services.sh is 0.6) and waits until it is gone.
class MemoryAlarm {
 public:
  MemoryAlarm() {
    auto r = run({require_env("BEACON_RABBITMQCTL"), "set_vm_memory_high_watermark", "0.0000001"}, {}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    on_ = eventually(memory_alarm_on, 30s, 250ms);
  }
  ~MemoryAlarm() { lift(); }
  MemoryAlarm(const MemoryAlarm&) = delete;
  MemoryAlarm& operator=(const MemoryAlarm&) = delete;
  bool on() const { return on_; }
  void lift() {
    if (lifted_) return;
    lifted_ = true;
    auto r = run({require_env("BEACON_RABBITMQCTL"), "set_vm_memory_high_watermark", "0.6"}, {}, 60s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_TRUE(eventually([] { return !memory_alarm_on(); }, 30s, 250ms)) << "the memory alarm did not clear";
  }

 private:
  bool on_ = false;
  bool lifted_ = false;
};

TEST(InferFlowControl, SubmitUnderAMemoryAlarmExitsFourInItsBoundAndASubmitAfterItEnqueuesExactly) {
  Fleet f("inf-alarm");
  const auto region = "inf-alarm-" + unique_suffix();
  const auto job = "inf-alarm-" + unique_suffix();
  const auto spec = numbered_spec({region}, {"llama3.2-1b"}, 40, job);
  // The topology exists before the alarm (declares are not blocked, but
  // this keeps the first submit about publishing only).
  ScopedEnv timeout("BEACON_SUBMIT_CONFIRM_TIMEOUT_S", "5");
  {
    MemoryAlarm alarm;
    ASSERT_TRUE(alarm.on()) << "the broker did not raise its memory alarm";
    const auto t0 = std::chrono::steady_clock::now();
    auto s = f.submit(spec, job);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(s.exit_code, 4) << s.out << s.err;
    EXPECT_LT(took, 30s) << "submit did not give up within BEACON_SUBMIT_CONFIRM_TIMEOUT_S (5 s) + connect time";
    EXPECT_NE(s.err.find("blocked"), std::string::npos) << "exit 4 must say the broker blocked publishing: " << s.err;
    EXPECT_NE(s.err.find("run the same submit again"), std::string::npos) << s.err;
    EXPECT_EQ(f.executions(job).rows, 40) << "the job is registered";
    // The flow probe saw the alarm before any execution message was written.
    EXPECT_EQ(queue_depth(amqp::exec_queue(region)), 0) << "messages of the first submit reached the queue";
    alarm.lift();
  }
  auto again = f.submit(spec, job);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.total, 40);
  EXPECT_EQ(again.enqueued, 40);
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, 40);
  EXPECT_EQ(e.distinct_keys, 40);
  EXPECT_TRUE(eventually([&] { return queue_depth(amqp::exec_queue(region)) == 40; }, 10s))
      << "queue holds " << queue_depth(amqp::exec_queue(region)) << " messages, not exactly 40";
  delete_queue(amqp::exec_queue(region));
}

}  // namespace
}  // namespace beacon::test
