#include <beacon/db/pg_json.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace beacon::db {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::string written(const std::function<void(json::Writer&)>& f) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  f(w);
  return std::string(buf.GetString(), buf.GetSize());
}

TEST(CleanText, ValidUtf8IsUnchanged) {
  for (std::string s : {"", "plain", "caf\xC3\xA9", "\xE4\xB8\xAD\xE6\x96\x87", "\xF0\x9F\x98\x80 emoji",
                        "tab\tnewline\n"})
    EXPECT_EQ(clean_text(s), s);
}

TEST(CleanText, NulBecomesReplacementCharacter) {
  EXPECT_EQ(clean_text(std::string("a\0b", 3)), "a" + kFffd + "b");
}

TEST(CleanText, InvalidSequencesBecomeReplacementCharacters) {
  EXPECT_EQ(clean_text("\xFF"), kFffd);
  EXPECT_EQ(clean_text("a\xC3"), "a" + kFffd);                      // truncated
  EXPECT_EQ(clean_text("\xC0\xAF"), kFffd + kFffd);                 // overlong '/'
  EXPECT_EQ(clean_text("\xED\xA0\x80"), kFffd + kFffd + kFffd);     // surrogate
  EXPECT_EQ(clean_text("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(clean_text("ok\x80ok"), "ok" + kFffd + "ok");
}

TEST(PgJson, WriteValueCleansNestedKeysAndStrings) {
  json::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  json::Value inner(rapidjson::kArrayType);
  inner.PushBack(json::Value(std::string("x\0y", 3).c_str(), 3, a), a);
  inner.PushBack(json::Value(1.5), a);
  doc.AddMember(json::Value(std::string("k\0", 2).c_str(), 2, a), inner, a);
  EXPECT_EQ(written([&](json::Writer& w) { write_value(w, doc); }),
            "{\"k" + kFffd + "\":[\"x" + kFffd + "y\",1.5]}");
}

TEST(PgJson, NonFiniteNumbersBecomeNull) {
  EXPECT_EQ(written([](json::Writer& w) {
              w.StartArray();
              write_number(w, std::numeric_limits<double>::quiet_NaN());
              write_number(w, std::numeric_limits<double>::infinity());
              write_number(w, 2.5);
              w.EndArray();
            }),
            "[null,null,2.5]");
}

}  // namespace
}  // namespace beacon::db
