#include <beacon/core/control_message.hpp>

#include <gtest/gtest.h>

namespace beacon {
namespace {

ExecutionMessage message_of(const std::string& job, int submission) {
  ExecutionMessage m;
  m.key = {job, "eu-west", "m", "q", 0};
  m.submission = submission;
  return m;
}

TEST(ControlMessage, CancelRoundTrip) {
  auto n = decode_control(encode(CancelNotice{"job-1", 3}));
  EXPECT_EQ(n.job_id, "job-1");
  EXPECT_EQ(n.submission, 3);
  EXPECT_EQ(n.reason, CancelReason::cancel);
  EXPECT_EQ(encode(CancelNotice{"j", 2}), R"({"v":1,"type":"cancel","job_id":"j","submission":2,"reason":"cancel"})");
}

TEST(ControlMessage, BudgetStopCarriesItsReason) {
  auto n = decode_control(encode(CancelNotice{"j", 4, CancelReason::budget_exhausted}));
  EXPECT_EQ(n.submission, 4);
  EXPECT_EQ(n.reason, CancelReason::budget_exhausted);
  EXPECT_EQ(decode_control(R"({"v":1,"type":"cancel","job_id":"j"})").reason, CancelReason::cancel)
      << "an older producer's notice is a plain cancel";
  EXPECT_THROW(decode_control(R"({"v":1,"type":"cancel","job_id":"j","reason":"bored"})"), BadInput);
}

TEST(ControlMessage, NoticeWithoutSubmissionCancelsTheFirst) {
  auto n = decode_control(R"({"v":1,"type":"cancel","job_id":"j"})");
  EXPECT_EQ(n.submission, 1);
}

TEST(ControlMessage, RejectsMalformed) {
  EXPECT_THROW(decode_control("not json"), BadInput);
  EXPECT_THROW(decode_control(R"({"v":1,"type":"pause","job_id":"j"})"), BadInput);
  EXPECT_THROW(decode_control(R"({"v":1,"type":"cancel"})"), BadInput);
  EXPECT_THROW(decode_control(R"({"v":1,"type":"cancel","job_id":""})"), BadInput);
  EXPECT_THROW(decode_control(R"({"v":1,"type":"cancel","job_id":"j","submission":0})"), BadInput);
  EXPECT_THROW(decode_control(R"({"v":2,"type":"cancel","job_id":"j"})"), BadInput);
}

TEST(ControlMessage, CancelsItsSubmissionAndEarlierOnly) {
  CancelNotice n{"j", 2};
  EXPECT_TRUE(cancels(n, message_of("j", 1)));
  EXPECT_TRUE(cancels(n, message_of("j", 2)));
  EXPECT_FALSE(cancels(n, message_of("j", 3))) << "a later re-submit is never touched";
  EXPECT_FALSE(cancels(n, message_of("other", 1)));
}

}  // namespace
}  // namespace beacon
