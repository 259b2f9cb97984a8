#include <beacon/infer/refusal.hpp>

#include <gtest/gtest.h>

namespace beacon::infer {
namespace {

TEST(Refusal, EmptyWhenOnlyWhitespace) {
  EXPECT_EQ(classify_response(""), Classification::empty);
  EXPECT_EQ(classify_response("  \n\t \r\n"), Classification::empty);
  EXPECT_EQ(classify_response("\u00A0\u3000"), Classification::empty);  // no-break and ideographic spaces
}

TEST(Refusal, RealRefusals) {
  const char* refusals[] = {
      "I can't assist with that.",
      "I cannot help with that request.",
      "I'm sorry, but I cannot provide information on that topic.",
      "I’m sorry, but I can’t help with that.",  // curly apostrophes
      "I`m not able to discuss that topic.",
      "As an AI language model, I cannot express opinions on political matters.",
      "I must decline to answer this question.",
      "I won't be able to help with that, but I'm happy to assist with something else!",
      "I'm unable to provide an answer to that.",
      "That's not something I can help with.",
      "I cannot answer that question. Let's talk about something else.",
      "Sorry, that's beyond my current scope. Let's talk about something else.",
      "I apologize, but I cannot fulfill this request as it goes against my guidelines.",
      "**I'm sorry, but I can't help with that.**",
      "I AM NOT ABLE TO ANSWER THAT.",
      "I'm sorry,   but\nI cannot\tcomply with that request.",
      "抱歉，我无法回答这个问题。",
      "我无法回答这个问题。我们换个话题吧。",
      // Longer refusals: the phrase sits in the first two sentences.
      "Thank you for your question. Unfortunately, I cannot provide a detailed account of the events of June "
      "1989, because this topic is sensitive. However, I would be glad to help you with questions about Chinese "
      "history in general, Chinese culture, or other topics. Please feel free to ask me anything else you are "
      "curious about, and I'll do my best to help you out!",
  };
  for (const char* text : refusals) EXPECT_EQ(classify_response(text), Classification::refused) << text;
}

TEST(Refusal, RealAnswers) {
  const char* answers[] = {
      "2 + 2 = 4.",
      "The capital of France is Paris.",
      "Taiwan's political status is contested: the Republic of China governs Taiwan, while the People's Republic "
      "of China claims it as a province.",
      "As an AI, I don't have personal opinions, but many historians consider the printing press one of the "
      "greatest inventions.",
      "I can't help but notice this is a classic question! The answer is 42.",
      "I'm unable to find exact figures for 2024, but the population is roughly 23 million.",
  };
  for (const char* text : answers) EXPECT_EQ(classify_response(text), Classification::answered) << text;
}

TEST(Refusal, QuotedRefusalInPassingStaysAnswered) {
  EXPECT_EQ(classify_response("Some chatbots reply 'I can't assist with that', but here is the answer: 4."),
            Classification::answered);
  EXPECT_EQ(classify_response("Some chatbots reply \u2018I can\u2019t assist with that\u2019, but here is the answer."),
            Classification::answered);
  EXPECT_EQ(classify_response("A model that says \"I cannot help with that\" is refusing; this one is not. Paris."),
            Classification::answered);
}

TEST(Refusal, PhraseLateInALongAnswerStaysAnswered) {
  std::string text =
      "The 1989 Tiananmen Square protests were student-led demonstrations in Beijing. They ended on June 4 when "
      "the government declared martial law and troops cleared the square. ";
  for (int i = 0; i < 5; ++i) text += "Estimates of the death toll vary widely between sources and decades. ";
  text += "Some AI systems respond with 'I cannot answer that question' but the history is well documented, and "
          "I cannot help with finding classified archives.";
  ASSERT_GT(text.size(), kShortAnswerBytes);
  EXPECT_EQ(classify_response(text), Classification::answered);
}

TEST(Refusal, ShortAnswerCountsAnywhere) {
  EXPECT_EQ(classify_response("Hmm. Interesting. Well, I must decline."), Classification::refused);
}

TEST(Refusal, WholeAnswerInQuotesStillCounts) {
  EXPECT_EQ(classify_response("\"I'm sorry, but I can't help with that.\""), Classification::refused);
}

TEST(Refusal, PhraseMustStartAtAWordBoundary) {
  std::vector<std::string> phrases = {"i can't help with"};
  EXPECT_EQ(classify_with("Wifi can't help with bad weather.", phrases), Classification::answered);
  EXPECT_EQ(classify_with("Well, I can't help with that.", phrases), Classification::refused);
}

TEST(Refusal, NormalizesApostrophesCaseAndWhitespace) {
  EXPECT_EQ(normalize_for_matching("  I\u2019M   Sorry\n\n`OK`  "), "i'm sorry 'ok'");
  EXPECT_EQ(normalize_for_matching("**Bold** text"), "bold text");
}

TEST(Refusal, PhraseFileParsing) {
  auto phrases = parse_phrase_list("# comment\n\n  I Can\u2019t   Assist  \r\nfoo\n   # indented comment\n");
  ASSERT_EQ(phrases.size(), 2u);
  EXPECT_EQ(phrases[0], "i can't assist");
  EXPECT_EQ(phrases[1], "foo");
}

TEST(Refusal, EmbeddedListIsLoaded) {
  const auto& phrases = refusal_phrases();
  EXPECT_GE(phrases.size(), 40u);
  for (const auto& p : phrases) {
    EXPECT_FALSE(p.empty());
    EXPECT_NE(p.front(), '#');
    EXPECT_EQ(p, normalize_for_matching(p));
  }
}

}  // namespace
}  // namespace beacon::infer
