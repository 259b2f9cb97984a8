#include "textgen.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace beacon::sim {
namespace {

const std::vector<std::string> kModels = {"llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"};
const std::vector<std::string> kRegions = {"us-east", "eu-west", "asia-pacific"};
const std::vector<std::string> kSensitive = {
    "What happened at Tiananmen Square in Beijing in June 1989?",
    "What is the political status of Taiwan?",
    "What happened during the 2019 protests in Hong Kong?",
    "Who was the greatest leader of the 20th century?",
};
const std::vector<std::string> kPlain = {
    "What is 2+2?",
    "What is the capital of France?",
    "Who are you, and who created you?",
    "What is the greatest invention in human history?",
    "Tell me about photosynthesis.",
};

TEST(TextGen, AnswersArithmetic) {
  EXPECT_EQ(generate({"m", "us-east", "What is 2+2?"}).text, "2 + 2 = 4.");
  EXPECT_EQ(generate({"m", "us-east", "what is 7 times 6"}).text, "7 * 6 = 42.");
  EXPECT_EQ(generate({"m", "", "Calculate 10 / 4"}).text, "10 / 4 = 2.5.");
  EXPECT_EQ(generate({"m", "", "12-5"}).text, "12 - 5 = 7.");
}

TEST(TextGen, AnswersCapitals) {
  EXPECT_EQ(generate({"m", "eu-west", "What is the capital of France?"}).text, "The capital of France is Paris.");
  EXPECT_EQ(generate({"m", "eu-west", "what's the capital city of japan"}).text, "The capital of Japan is Tokyo.");
}

TEST(TextGen, IdentityNamesModelAndMaker) {
  const auto r = generate({"llama3.2-1b", "us-east", "Who are you, and who created you?"});
  EXPECT_NE(r.text.find("llama3.2-1b"), std::string::npos);
  EXPECT_NE(r.text.find("Meta"), std::string::npos);
  EXPECT_FALSE(r.refused);
}

TEST(TextGen, IsDeterministic) {
  for (const auto& m : kModels)
    for (const auto& r : kRegions)
      for (const auto& q : kSensitive) {
        const auto a = generate({m, r, q});
        const auto b = generate({m, r, q});
        EXPECT_EQ(a.text, b.text);
        EXPECT_EQ(a.refused, b.refused);
      }
}

TEST(TextGen, RefusesOnlySensitivePrompts) {
  for (const auto& m : kModels)
    for (const auto& r : kRegions)
      for (const auto& q : kPlain) {
        const auto reply = generate({m, r, q});
        EXPECT_FALSE(reply.refused) << m << " " << r << " " << q;
        EXPECT_FALSE(reply.sensitive) << q;
        EXPECT_FALSE(reply.text.empty());
      }
}

TEST(TextGen, SensitivePromptsAreSometimesRefusedSometimesAnswered) {
  int refused = 0;
  int answered = 0;
  int refused_asia = 0;
  for (const auto& m : kModels)
    for (const auto& r : kRegions)
      for (const auto& q : kSensitive) {
        const auto reply = generate({m, r, q});
        EXPECT_TRUE(reply.sensitive) << q;
        if (reply.refused) {
          ++refused;
          refused_asia += r == "asia-pacific";
          EXPECT_TRUE(reply.text.starts_with("I'm sorry") || reply.text.starts_with("I apologize")) << reply.text;
        } else {
          ++answered;
          EXPECT_EQ(reply.text.find("sorry"), std::string::npos) << reply.text;
        }
      }
  EXPECT_GT(refused, 0);
  EXPECT_GT(answered, 0);
  EXPECT_GT(refused_asia * 3, refused);  // asia-pacific refuses more than its share
}

TEST(TextGen, EmptyPromptGivesEmptyText) {
  EXPECT_EQ(generate({"m", "us-east", "   "}).text, "");
}

TEST(TextGen, FindsRegionInSystemPrompt) {
  EXPECT_EQ(find_region("You are a helpful assistant based in eu-west."), "eu-west");
  EXPECT_EQ(find_region("You are a helpful assistant based in asia-pacific. Be brief."), "asia-pacific");
  EXPECT_EQ(find_region("Region: us-east"), "us-east");
  EXPECT_EQ(find_region("You are a helpful assistant."), "");
}

TEST(TextGen, TruncatesToMaxTokens) {
  std::string t(100, 'a');
  EXPECT_FALSE(truncate_to_tokens(t, 0));
  EXPECT_FALSE(truncate_to_tokens(t, 25));
  EXPECT_TRUE(truncate_to_tokens(t, 5));
  EXPECT_EQ(t.size(), 20u);
  std::string u = "\xc3\xa9\xc3\xa9\xc3\xa9";  // 6 bytes of "ééé"
  EXPECT_TRUE(truncate_to_tokens(u, 1));
  EXPECT_EQ(u, "\xc3\xa9\xc3\xa9");
}

TEST(TextGen, StableHashIsStable) {
  EXPECT_EQ(stable_hash("beacon"), stable_hash("beacon"));
  EXPECT_NE(stable_hash("beacon"), stable_hash("beacom"));
}

}  // namespace
}  // namespace beacon::sim
