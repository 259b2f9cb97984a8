#include "ack_window.hpp"

#include <gtest/gtest.h>

namespace beacon::writer {
namespace {

AckWindow holding(std::uint64_t first, std::uint64_t last) {
  AckWindow w;
  for (auto t = first; t <= last; ++t) w.received(t);
  return w;
}

TEST(AckWindow, ABatchOfTheOldestTagsIsOneMultipleAck) {
  AckWindow w = holding(1, 2000);
  std::vector<std::uint64_t> batch;
  for (std::uint64_t t = 1; t <= 500; ++t) batch.push_back(t);
  EXPECT_EQ(w.acks_for(batch), (std::vector<AckFrame>{{500, true}}));
  EXPECT_EQ(w.outstanding(), 1500u) << "the events accumulating for the next batch stay unacked";
}

TEST(AckWindow, AnOlderTagStillHeldIsNeverCoveredByAMultipleAck) {
  AckWindow w = holding(1, 10);
  // Tag 3 is a dead letter waiting for its confirm: 1-2 go as one frame, the rest one by one.
  EXPECT_EQ(w.acks_for({10, 1, 2, 4, 5}),
            (std::vector<AckFrame>{{2, true}, {4, false}, {5, false}, {10, false}}));
  EXPECT_EQ(w.outstanding(), 5u);
  EXPECT_EQ(w.acks_for({3}), (std::vector<AckFrame>{{3, false}}));
  EXPECT_EQ(w.acks_for({6, 7, 8, 9}), (std::vector<AckFrame>{{9, true}}));
  EXPECT_EQ(w.outstanding(), 0u);
}

TEST(AckWindow, AFirstTagAloneIsASingleAck) {
  AckWindow w = holding(5, 6);
  EXPECT_EQ(w.acks_for({5}), (std::vector<AckFrame>{{5, false}}));
  EXPECT_TRUE(w.acks_for({}).empty());
}

TEST(AckWindow, AfterALostConnectionNothingIsCovered) {
  AckWindow w = holding(1, 4);
  w.forget_all();
  w.received(1);  // the new connection numbers from 1 again
  EXPECT_EQ(w.acks_for({1}), (std::vector<AckFrame>{{1, false}}));
  EXPECT_EQ(w.acks_for({7}), (std::vector<AckFrame>{{7, false}})) << "unknown tags are acked one by one";
}

}  // namespace
}  // namespace beacon::writer
