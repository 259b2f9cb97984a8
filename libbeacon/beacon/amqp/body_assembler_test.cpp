#include <beacon/amqp/body_assembler.hpp>

#include <beacon/amqp/errors.hpp>

#include <gtest/gtest.h>

namespace beacon::amqp {
namespace {

TEST(BodyAssembler, EmptyBodyIsCompleteAtOnce) {
  BodyAssembler b(0, 16);
  EXPECT_TRUE(b.complete());
  EXPECT_FALSE(b.oversized());
  EXPECT_EQ(b.take_body(), "");
}

TEST(BodyAssembler, JoinsFrames) {
  BodyAssembler b(11, 16);
  b.append("hello ");
  EXPECT_FALSE(b.complete());
  b.append("world");
  EXPECT_TRUE(b.complete());
  EXPECT_FALSE(b.oversized());
  EXPECT_EQ(b.take_body(), "hello world");
}

TEST(BodyAssembler, KeepsOnlyTheBoundOfAnOversizedBody) {
  BodyAssembler b(10, 4);
  b.append("abc");
  b.append("def");
  b.append("ghij");
  EXPECT_TRUE(b.complete());
  EXPECT_TRUE(b.oversized());
  EXPECT_EQ(b.declared_size(), 10u);
  EXPECT_EQ(b.take_body(), "abcd");
}

TEST(BodyAssembler, BodyExactlyAtTheBoundIsNotOversized) {
  BodyAssembler b(4, 4);
  b.append("abcd");
  EXPECT_TRUE(b.complete());
  EXPECT_FALSE(b.oversized());
  EXPECT_EQ(b.take_body(), "abcd");
}

TEST(BodyAssembler, HugeDeclaredSizeDoesNotAllocateIt) {
  // A header may claim anything; only the bound is ever reserved.
  BodyAssembler b(std::uint64_t{1} << 40, 8);
  b.append("0123456789");
  EXPECT_FALSE(b.complete());
  EXPECT_TRUE(b.oversized());
  EXPECT_EQ(b.take_body(), "01234567");
}

TEST(BodyAssembler, MoreThanDeclaredIsAProtocolError) {
  BodyAssembler b(3, 16);
  b.append("ab");
  EXPECT_THROW(b.append("cd"), AmqpError);
}

}  // namespace
}  // namespace beacon::amqp
