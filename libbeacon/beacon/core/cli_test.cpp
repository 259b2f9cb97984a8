#include <beacon/core/cli.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon {
namespace {

// argv as CliArgs sees it: program name first.
struct Argv {
  explicit Argv(std::vector<std::string> a) : args(std::move(a)) {
    for (auto& s : args) ptrs.push_back(s.data());
  }
  int argc() { return static_cast<int>(ptrs.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> args;
  std::vector<char*> ptrs;
};

CliArgs parse(std::vector<std::string> a) {
  static std::vector<Argv> keep;  // CliArgs copies what it needs; the storage just has to outlive the call
  keep.emplace_back(std::move(a));
  return CliArgs(keep.back().argc(), keep.back().argv(), 1, {"--log-format", "--concurrency"}, {"--help"});
}

std::string message_of(auto&& f) {
  try {
    f();
  } catch (const BadInput& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CliArgs, ChoiceKnownValueOrFallback) {
  EXPECT_EQ(parse({"p", "--log-format", "json"}).get_choice("--log-format", "text", {"text", "json"}), "json");
  EXPECT_EQ(parse({"p", "--log-format=text"}).get_choice("--log-format", "json", {"text", "json"}), "text");
  EXPECT_EQ(parse({"p"}).get_choice("--log-format", "text", {"text", "json"}), "text");
}

TEST(CliArgs, UnknownChoiceIsBadInputNamingFlagValueAndChoices) {
  const auto args = parse({"p", "--log-format", "xml"});
  EXPECT_EQ(message_of([&] { args.get_choice("--log-format", "text", {"text", "json"}); }),
            "--log-format must be text or json, not \"xml\"");
  EXPECT_EQ(message_of([&] { require_choice("BEACON_QUEUE_TYPE", "foo", {"quorum", "classic"}); }),
            "BEACON_QUEUE_TYPE must be quorum or classic, not \"foo\"");
  EXPECT_EQ(message_of([&] { require_choice("--by", "x", {"question", "region", "model"}); }),
            "--by must be question, region or model, not \"x\"");
}

TEST(CliArgs, NonNumericOrOutOfRangeIntegerIsBadInputNamingTheFlag) {
  for (const char* bad : {"many", "", "12x", "0", "10001", "99999999999999999999999"}) {
    const auto args = parse({"p", "--concurrency", bad});
    const std::string m = message_of([&] { args.get_int("--concurrency", 32, 1, 10000); });
    EXPECT_EQ(m.rfind("--concurrency must be an integer from 1 to 10000", 0), 0u) << bad << " -> " << m;
  }
  EXPECT_EQ(parse({"p", "--concurrency", "64"}).get_int("--concurrency", 32, 1, 10000), 64);
}

TEST(CliArgs, UnknownFlagAndMissingValueAreBadInput) {
  EXPECT_THROW(parse({"p", "--log-fromat", "json"}), BadInput);
  EXPECT_THROW(parse({"p", "--log-format"}), BadInput);
  EXPECT_THROW(parse({"p", "--help=yes"}), BadInput);
}

}  // namespace
}  // namespace beacon
