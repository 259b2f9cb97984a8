#include <beacon/core/spec.hpp>

#include <gtest/gtest.h>

namespace beacon {
namespace {

// The field named by the SpecError thrown for `text`, or "accepted".
std::string rejected_field(const std::string& text) {
  try {
    parse_job_spec(text);
  } catch (const SpecError& e) {
    return e.field();
  }
  return "accepted";
}

const char* kBeaconJob = R"({
  "job_id": "bias-2026-11-23",
  "models": ["llama3.2-1b", "qwen2.5-1.5b", "mistral-7b"],
  "regions": ["us-east", "eu-west", "asia-pacific"],
  "questions": ["tiananmen_neutral", "taiwan_status", "hongkong_2019", "math_basic",
                "geography_basic", "identity_basic", "greatest_invention", "greatest_leader"],
  "samples": 1,
  "system_prompt": "You are a helpful assistant based in {region}.",
  "params": {"temperature": 0.1, "max_tokens": 512}
})";

}  // namespace

TEST(Spec, BeaconJobPlansSeventyTwoExecutions) {
  auto spec = parse_job_spec(kBeaconJob);
  EXPECT_EQ(spec.execution_count(), 72u);
  auto plan = spec.plan(1, "t");
  ASSERT_EQ(plan.size(), 72u);
  EXPECT_EQ(plan.front().key.message_id(), "bias-2026-11-23/us-east/llama3.2-1b/tiananmen_neutral/0");
  EXPECT_EQ(plan.front().prompt, question_bank()[0].prompt);
}

TEST(Spec, NoQuestionsMeansOnePerRegionAndModel) {
  auto spec = parse_job_spec(R"({"models":["a","b"],"regions":["r1","r2","r3"],"samples":2})");
  EXPECT_EQ(spec.execution_count(), 12u);
  auto plan = spec.plan(1, "t");
  EXPECT_EQ(plan.size(), 12u);
  EXPECT_EQ(plan[0].key.question_id, "");
}

TEST(Spec, InlineQuestionsAndCanonicalForm) {
  auto spec = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"],"questions":[{"id":"q1","prompt":"Hi?"},"math_basic"]})");
  ASSERT_EQ(spec.questions.size(), 2u);
  EXPECT_EQ(spec.questions[1].prompt, "What is 2+2?");
  auto again = parse_job_spec(R"({"questions":[{"prompt":"Hi?","id":"q1"},"math_basic"],"regions":["r"],"models":["m"],"job_id":"j","samples":1})");
  EXPECT_EQ(spec.canonical_json(), again.canonical_json());
}

TEST(Spec, EveryRejectionNamesItsField) {
  EXPECT_EQ(rejected_field("{not json"), "spec");
  EXPECT_EQ(rejected_field("[]"), "spec");
  EXPECT_EQ(rejected_field(R"({"regions":["r"]})"), "models");
  EXPECT_EQ(rejected_field(R"({"models":[],"regions":["r"]})"), "models");
  EXPECT_EQ(rejected_field(R"({"models":["m"]})"), "regions");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":[]})"), "regions");
  EXPECT_EQ(rejected_field(R"({"models":["m","m"],"regions":["r"]})"), "models[1]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r","r"]})"), "regions[1]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["us east"]})"), "regions[0]");
  EXPECT_EQ(rejected_field(R"({"models":["m/x"],"regions":["r"]})"), "models[0]");
  EXPECT_EQ(rejected_field(R"({"models":[3],"regions":["r"]})"), "models[0]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"questions":["no_such_question"]})"), "questions[0]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"questions":["math_basic","math_basic"]})"), "questions[1]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"questions":[{"id":"q"}]})"), "questions[0]");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"questions":[{"id":"q","prompt":""}]})"), "questions[0].prompt");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"samples":0})"), "samples");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"samples":1001})"), "samples");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"samples":1.5})"), "samples");
  EXPECT_EQ(rejected_field(R"({"job_id":"a b","models":["m"],"regions":["r"]})"), "job_id");
  EXPECT_EQ(rejected_field("{\"job_id\":\"" + std::string(129, 'x') + "\",\"models\":[\"m\"],\"regions\":[\"r\"]}"), "job_id");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"modles":["x"]})"), "modles");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"params":{"temperature":"hot"}})"), "params.temperature");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"params":{"max_tokens":0}})"), "params.max_tokens");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"reuse":"always"})"), "reuse");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"reuse":true})"), "reuse");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"reuse":null})"), "reuse");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"reuse":"completed"})"), "accepted");
  std::string big(kMaxPromptBytes + 1, 'x');
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"questions":[{"id":"q","prompt":")" + big + "\"}]}"),
            "questions[0].prompt");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"system_prompt":")" + big + "\"}"), "system_prompt");
  EXPECT_EQ(rejected_field(R"({"models":["m"],"regions":["r"],"samples":1000,"questions":[)" +
                           std::string(R"({"id":"a","prompt":"x"},{"id":"b","prompt":"x"},{"id":"c","prompt":"x"},{"id":"d","prompt":"x"},{"id":"e","prompt":"x"},{"id":"f","prompt":"x"}]})")),
            "accepted");
}

TEST(Spec, GeneratedJobIdsAreValidAndDistinct) {
  auto a = generate_job_id();
  auto b = generate_job_id();
  EXPECT_TRUE(is_valid_id(a));
  EXPECT_NE(a, b);
}

// Issue 10: "reuse" reaches every planned message, and the canonical form
// carries it only when set (jobs stored before the field compare equal).
TEST(Spec, ReuseReachesEveryMessageAndTheCanonicalFormOnlyWhenSet) {
  auto off = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"],"samples":2})");
  EXPECT_EQ(off.reuse, ReusePolicy::none);
  EXPECT_EQ(off.canonical_json().find("reuse"), std::string::npos);
  for (const auto& m : off.plan(1, "")) EXPECT_EQ(m.reuse, ReusePolicy::none);
  auto on = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"],"samples":2,"reuse":"completed"})");
  EXPECT_EQ(on.reuse, ReusePolicy::completed);
  EXPECT_NE(on.canonical_json().find(R"("reuse":"completed")"), std::string::npos);
  EXPECT_EQ(parse_job_spec(on.canonical_json()).reuse, ReusePolicy::completed);
  auto plan = on.plan(1, "");
  ASSERT_EQ(plan.size(), 2u);
  for (const auto& m : plan) EXPECT_EQ(m.reuse, ReusePolicy::completed);
}

// Issue 10: "budget" is parsed into typed limits, survives the canonical
// form, and a bad value is refused with the field and what is wrong.
TEST(Spec, BudgetParsesAndRoundTripsThroughTheCanonicalForm) {
  auto none = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"]})");
  EXPECT_FALSE(none.budget.has_value());
  EXPECT_EQ(none.canonical_json().find("budget"), std::string::npos) << "jobs stored before budgets compare equal";
  auto both = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"],"budget":{"max_cost_usd":0.25,"max_tokens":5000}})");
  ASSERT_TRUE(both.budget.has_value());
  EXPECT_DOUBLE_EQ(both.budget->max_cost_usd.value_or(0), 0.25);
  EXPECT_EQ(both.budget->max_tokens.value_or(0), 5000);
  EXPECT_EQ(parse_job_spec(both.canonical_json()).budget, both.budget);
  auto cost = parse_job_spec(R"({"models":["m"],"regions":["r"],"budget":{"max_cost_usd":3}})");
  ASSERT_TRUE(cost.budget.has_value());
  EXPECT_DOUBLE_EQ(cost.budget->max_cost_usd.value_or(0), 3.0);
  EXPECT_FALSE(cost.budget->max_tokens.has_value());
  auto tokens = parse_job_spec(R"({"models":["m"],"regions":["r"],"budget":{"max_tokens":1}})");
  ASSERT_TRUE(tokens.budget.has_value());
  EXPECT_FALSE(tokens.budget->max_cost_usd.has_value());
  EXPECT_TRUE(parse_job_spec(R"({"models":["m"],"regions":["r"],"budget":null})").budget == std::nullopt);
}

TEST(Spec, BadBudgetValuesGetAClearError) {
  auto error = [](const std::string& budget) -> std::pair<std::string, std::string> {
    try {
      parse_job_spec(R"({"models":["m"],"regions":["r"],"budget":)" + budget + "}");
    } catch (const SpecError& e) {
      return {e.field(), e.what()};
    }
    return {"accepted", ""};
  };
  EXPECT_EQ(error("5").first, "budget");
  EXPECT_EQ(error(R"("$5")").first, "budget");
  EXPECT_EQ(error("{}").first, "budget");
  EXPECT_NE(error("{}").second.find("max_cost_usd or max_tokens"), std::string::npos) << error("{}").second;
  EXPECT_EQ(error(R"({"max_cost_usd":0})").first, "budget.max_cost_usd");
  EXPECT_EQ(error(R"({"max_cost_usd":-1})").first, "budget.max_cost_usd");
  EXPECT_EQ(error(R"({"max_cost_usd":"1.5"})").first, "budget.max_cost_usd");
  EXPECT_EQ(error(R"({"max_cost_usd":1e300})").first, "budget.max_cost_usd");
  EXPECT_NE(error(R"({"max_cost_usd":0})").second.find("above 0"), std::string::npos) << error(R"({"max_cost_usd":0})").second;
  EXPECT_EQ(error(R"({"max_tokens":0})").first, "budget.max_tokens");
  EXPECT_EQ(error(R"({"max_tokens":2.5})").first, "budget.max_tokens");
  EXPECT_EQ(error(R"({"max_tokens":-3})").first, "budget.max_tokens");
  EXPECT_EQ(error(R"({"max_tokens":"100"})").first, "budget.max_tokens");
  EXPECT_EQ(error(R"({"max_cost":1})").first, "budget.max_cost");
  EXPECT_NE(error(R"({"max_cost":1})").second.find("unknown field"), std::string::npos);
  EXPECT_EQ(error(R"({"max_cost_usd":0.01,"max_tokens":10})").first, "accepted");
}

// Fair share: "priority" 1..10 is parsed, survives the canonical form, and is
// there only when set (jobs stored before it compare equal).
TEST(Spec, PriorityParsesAndRoundTripsThroughTheCanonicalFormOnlyWhenSet) {
  auto none = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"]})");
  EXPECT_FALSE(none.priority.has_value());
  EXPECT_EQ(none.canonical_json().find("priority"), std::string::npos) << "jobs stored before priorities compare equal";
  EXPECT_FALSE(parse_job_spec(R"({"models":["m"],"regions":["r"],"priority":null})").priority.has_value());
  for (int p : {kMinPriority, 4, kMaxPriority}) {
    auto spec = parse_job_spec(R"({"job_id":"j","models":["m"],"regions":["r"],"priority":)" + std::to_string(p) + "}");
    ASSERT_TRUE(spec.priority.has_value());
    EXPECT_EQ(*spec.priority, p);
    EXPECT_NE(spec.canonical_json().find(R"("priority":)" + std::to_string(p)), std::string::npos) << spec.canonical_json();
    EXPECT_EQ(parse_job_spec(spec.canonical_json()).priority, spec.priority);
  }
}

TEST(Spec, BadPriorityValuesNameTheField) {
  auto error = [](const std::string& priority) -> std::pair<std::string, std::string> {
    try {
      parse_job_spec(R"({"models":["m"],"regions":["r"],"priority":)" + priority + "}");
    } catch (const SpecError& e) {
      return {e.field(), e.what()};
    }
    return {"accepted", ""};
  };
  for (const char* bad : {"0", "11", "-1", "2.5", "4.0", R"("5")", "true", "[3]", "{}", "99999999999"})
    EXPECT_EQ(error(bad).first, "priority") << bad;
  EXPECT_NE(error("11").second.find("from 1 to 10"), std::string::npos) << error("11").second;
  EXPECT_EQ(error("1").first, "accepted");
  EXPECT_EQ(error("10").first, "accepted");
}

}  // namespace beacon
