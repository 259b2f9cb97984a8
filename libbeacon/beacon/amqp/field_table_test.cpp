#include <beacon/amqp/field_table.hpp>

#include <gtest/gtest.h>

#include <cstring>

namespace beacon::amqp {
namespace {

amqp_table_entry_t entry(const char* key, amqp_field_value_t value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value = value;
  return e;
}

amqp_field_value_t kind(std::uint8_t k) {
  amqp_field_value_t v{};
  v.kind = k;
  return v;
}

TEST(FieldToString, StringsAndBytesAsIs) {
  auto v = kind(AMQP_FIELD_KIND_UTF8);
  v.value.bytes = amqp_cstring_bytes("héllo");
  EXPECT_EQ(field_to_string(v), "héllo");
  v.kind = AMQP_FIELD_KIND_BYTES;
  v.value.bytes = amqp_cstring_bytes("raw");
  EXPECT_EQ(field_to_string(v), "raw");
  v.value.bytes = amqp_empty_bytes;
  EXPECT_EQ(field_to_string(v), "");
}

TEST(FieldToString, NumbersInDecimal) {
  auto v = kind(AMQP_FIELD_KIND_I64);
  v.value.i64 = -42;
  EXPECT_EQ(field_to_string(v), "-42");
  v = kind(AMQP_FIELD_KIND_U8);
  v.value.u8 = 255;
  EXPECT_EQ(field_to_string(v), "255");
  v = kind(AMQP_FIELD_KIND_I32);
  v.value.i32 = 7;
  EXPECT_EQ(field_to_string(v), "7");
  v = kind(AMQP_FIELD_KIND_TIMESTAMP);
  v.value.u64 = 1700000000;
  EXPECT_EQ(field_to_string(v), "1700000000");
  v = kind(AMQP_FIELD_KIND_F64);
  v.value.f64 = 0.5;
  EXPECT_EQ(field_to_string(v), "0.5");
  v = kind(AMQP_FIELD_KIND_F32);
  v.value.f32 = 0.1f;
  EXPECT_EQ(field_to_string(v), "0.1");
  v = kind(AMQP_FIELD_KIND_DECIMAL);
  v.value.decimal.decimals = 2;
  v.value.decimal.value = 1234;
  EXPECT_EQ(field_to_string(v), "12.34");
}

TEST(FieldToString, Booleans) {
  auto v = kind(AMQP_FIELD_KIND_BOOLEAN);
  v.value.boolean = 1;
  EXPECT_EQ(field_to_string(v), "true");
  v.value.boolean = 0;
  EXPECT_EQ(field_to_string(v), "false");
}

TEST(FieldToString, StructuredValuesHaveNoStringForm) {
  EXPECT_EQ(field_to_string(kind(AMQP_FIELD_KIND_VOID)), std::nullopt);
  auto table = kind(AMQP_FIELD_KIND_TABLE);
  table.value.table = amqp_empty_table;
  EXPECT_EQ(field_to_string(table), std::nullopt);
  auto array = kind(AMQP_FIELD_KIND_ARRAY);
  array.value.array = amqp_empty_array;
  EXPECT_EQ(field_to_string(array), std::nullopt);
}

TEST(HeadersFromTable, KeepsWhatHasAStringFormSkipsTheRest) {
  auto s = kind(AMQP_FIELD_KIND_UTF8);
  s.value.bytes = amqp_cstring_bytes("bad json");
  auto count = kind(AMQP_FIELD_KIND_I64);
  count.value.i64 = 3;
  auto death = kind(AMQP_FIELD_KIND_ARRAY);  // like x-death
  death.value.array = amqp_empty_array;
  amqp_table_entry_t entries[] = {entry("x-beacon-reason", s), entry("x-delivery-count", count),
                                  entry("x-death", death)};
  amqp_table_t table{3, entries};
  const Headers h = headers_from_table(table);
  EXPECT_EQ(h, (Headers{{"x-beacon-reason", "bad json"}, {"x-delivery-count", "3"}}));
}

TEST(HeadersFromTable, EmptyTable) { EXPECT_TRUE(headers_from_table(amqp_empty_table).empty()); }

TEST(FieldTable, RoundTripsHeaders) {
  const Headers in{{"a", "1"}, {"b", ""}, {"x-beacon-reason", "why"}};
  FieldTable t(in);
  EXPECT_EQ(headers_from_table(t.table()), in);
}

TEST(FieldTable, EncodesIntegersAsSignedLong) {
  FieldTable t;
  t.set("x-queue-type", std::string("quorum")).set("x-delivery-limit", std::int64_t{5});
  const amqp_table_t table = t.table();
  ASSERT_EQ(table.num_entries, 2);
  const amqp_table_entry_t* limit = nullptr;
  for (int i = 0; i < table.num_entries; ++i) {
    if (table.entries[i].key.len == 16 &&
        std::memcmp(table.entries[i].key.bytes, "x-delivery-limit", 16) == 0) {
      limit = &table.entries[i];
    }
  }
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->value.kind, AMQP_FIELD_KIND_I64);
  EXPECT_EQ(limit->value.value.i64, 5);
}

TEST(FieldTable, LaterSetReplaces) {
  FieldTable t(Headers{{"k", "old"}});
  t.set("k", std::string("new"));
  EXPECT_EQ(headers_from_table(t.table()), (Headers{{"k", "new"}}));
}

TEST(FieldTable, EmptyTableHasNoEntries) {
  FieldTable t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.table().num_entries, 0);
}

}  // namespace
}  // namespace beacon::amqp
