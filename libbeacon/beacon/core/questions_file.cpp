#include <beacon/core/questions_file.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include <openssl/evp.h>

#include <beacon/core/json.hpp>

namespace beacon {
namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

QuestionsFormat format_of(const std::string& path) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ends_with(lower, ".jsonl") || ends_with(lower, ".ndjson")) return QuestionsFormat::kJsonl;
  if (ends_with(lower, ".csv")) return QuestionsFormat::kCsv;
  throw SpecError("questions_file", "'" + path + "': unknown format (name it *.jsonl, *.ndjson or *.csv)");
}

// Strict UTF-8 (no overlongs, no surrogates, no NUL: Postgres text holds none of those).
bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
    else return false;
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

}  // namespace

QuestionsReader::QuestionsReader(const std::string& path)
    : path_(path), format_(format_of(path)), in_(path, std::ios::binary) {
  if (!in_) throw SpecError("questions_file", "cannot read '" + path + "'");
  if (format_ == QuestionsFormat::kCsv) {
    // A UTF-8 byte order mark (spreadsheet exports) is not part of the header.
    if (in_.peek() == 0xEF) {
      char bom[3];
      in_.read(bom, 3);
      if (!(in_.gcount() == 3 && bom[1] == '\xBB' && bom[2] == '\xBF')) {
        in_.clear();
        in_.seekg(0);
      }
    }
    std::string header[8];
    std::size_t n = 0;
    if (!read_csv_record(header, 8, n)) fail("empty file: the first line must be the header id,prompt");
    columns_ = n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string name = header[i];
      if (name == "id" && id_col_ < 0) id_col_ = static_cast<int>(i);
      else if (name == "prompt" && prompt_col_ < 0) prompt_col_ = static_cast<int>(i);
      else fail("header: unexpected column '" + name + "' (the columns are id and prompt)");
    }
    if (id_col_ < 0 || prompt_col_ < 0) fail("header: needs the columns id and prompt");
  }
}

QuestionsReader::~QuestionsReader() = default;

void QuestionsReader::fail(const std::string& what) const {
  throw SpecError(path_ + ":" + std::to_string(record_line_), what);
}

bool QuestionsReader::next(Question& out) {
  return format_ == QuestionsFormat::kJsonl ? next_jsonl(out) : next_csv(out);
}

bool QuestionsReader::next_jsonl(Question& out) {
  std::string line;
  for (;;) {
    line.clear();
    // getline with a bound: read char by char past the limit would be slow;
    // std::getline then a size check reads at most one oversized line.
    if (!std::getline(in_, line)) return false;
    record_line_ = ++line_;
    if (line.size() > kMaxQuestionRecordBytes)
      fail("line is " + std::to_string(line.size()) + " bytes, the limit is " + std::to_string(kMaxQuestionRecordBytes));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    break;
  }
  json::Document doc;
  try {
    doc = json::parse(line);
  } catch (const BadInput& e) {
    fail(e.what());
  }
  if (!doc.IsObject()) fail("must be a JSON object {\"id\", \"prompt\"}");
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    std::string name(m->name.GetString(), m->name.GetStringLength());
    if (name != "id" && name != "prompt") fail("unknown field '" + name + "'");
  }
  try {
    out.id = json::get_string(doc, "id");
    out.prompt = json::get_string(doc, "prompt");
  } catch (const BadInput& e) {
    fail(e.what());
  }
  const std::string where = path_ + ":" + std::to_string(record_line_) + ": ";
  validate_question(out, where + "id", where + "prompt");
  return true;
}

// One RFC 4180 record into fields[0..count). false at the end of the file
// (no record). A record of more than max_fields fields, an unterminated
// quote, a stray quote or an oversized record is an error naming its line.
bool QuestionsReader::read_csv_record(std::string fields[], std::size_t max_fields, std::size_t& count) {
  for (;;) {
    count = 0;
    record_line_ = line_ + 1;
    if (in_.peek() == std::char_traits<char>::eof()) return false;
    std::size_t bytes = 0;
    std::string* field = &fields[0];
    field->clear();
    count = 1;
    bool quoted = false, after_quote = false, any = false;
    for (;;) {
      int c = in_.get();
      if (c == std::char_traits<char>::eof()) {
        if (quoted) fail("unterminated quoted field");
        ++line_;
        break;
      }
      any = true;
      if (++bytes > kMaxQuestionRecordBytes)
        fail("record exceeds " + std::to_string(kMaxQuestionRecordBytes) + " bytes");
      if (quoted) {
        if (c == '"') {
          if (in_.peek() == '"') {
            in_.get();
            field->push_back('"');
          } else {
            quoted = false;
            after_quote = true;
          }
        } else {
          if (c == '\n') ++line_;
          field->push_back(static_cast<char>(c));
        }
        continue;
      }
      if (c == ',') {
        if (count == max_fields) fail("more than " + std::to_string(max_fields) + " fields");
        field = &fields[count++];
        field->clear();
        after_quote = false;
        continue;
      }
      if (c == '\r' && in_.peek() == '\n') continue;  // CRLF: the \n ends the record
      if (c == '\n') {
        ++line_;
        break;
      }
      if (after_quote) fail("text after a closing quote (a quote inside a field is written \"\")");
      if (c == '"') {
        if (!field->empty()) fail("a quote inside an unquoted field (quote the whole field)");
        quoted = true;
        continue;
      }
      field->push_back(static_cast<char>(c));
    }
    // A line holding nothing at all (blank line, or the end after a final
    // line break) is not a record.
    if (count == 1 && fields[0].empty() && !after_quote) {
      if (!any || in_.peek() == std::char_traits<char>::eof()) return false;
      continue;
    }
    for (std::size_t i = 0; i < count; ++i)
      if (!valid_utf8(fields[i])) fail("field " + std::to_string(i + 1) + " is not valid UTF-8 (or holds a NUL byte)");
    return true;
  }
}

bool QuestionsReader::next_csv(Question& out) {
  std::string fields[8];
  std::size_t n = 0;
  if (!read_csv_record(fields, 8, n)) return false;
  if (n != columns_)
    fail("has " + std::to_string(n) + " fields, the header has " + std::to_string(columns_) + " (id,prompt)");
  out.id = std::move(fields[id_col_]);
  out.prompt = std::move(fields[prompt_col_]);
  const std::string where = path_ + ":" + std::to_string(record_line_) + ": ";
  validate_question(out, where + "id", where + "prompt");
  return true;
}

struct QuestionsHasher::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

QuestionsHasher::QuestionsHasher() : impl_(std::make_unique<Impl>()) {
  if (impl_->ctx == nullptr || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 unavailable");
}

QuestionsHasher::~QuestionsHasher() = default;

void QuestionsHasher::add(const Question& q) {
  // Lengths first: "a" + "bc" and "ab" + "c" hash differently.
  const std::uint64_t lens[2] = {q.id.size(), q.prompt.size()};
  EVP_DigestUpdate(impl_->ctx, lens, sizeof lens);
  EVP_DigestUpdate(impl_->ctx, q.id.data(), q.id.size());
  EVP_DigestUpdate(impl_->ctx, q.prompt.data(), q.prompt.size());
}

std::string QuestionsHasher::finish_hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

QuestionsDigest scan_questions_file(const std::string& path) {
  QuestionsDigest d;
  QuestionsHasher hasher;
  // Duplicates by 64-bit hash of the id (8 bytes a question, not the ids
  // themselves: 5,000,000 questions stay ~40 MB); a hash seen twice is then
  // checked exactly in a second pass over just those ids.
  std::vector<std::uint64_t> hashes;
  {
    QuestionsReader r(path);
    Question q;
    while (r.next(q)) {
      hasher.add(q);
      hashes.push_back(std::hash<std::string>{}(q.id));
      ++d.count;
    }
  }
  if (d.count == 0) throw SpecError("questions_file", "'" + path + "' holds no questions");
  std::vector<std::uint64_t> sorted = hashes;
  std::sort(sorted.begin(), sorted.end());
  std::set<std::uint64_t> twice;
  for (std::size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i] == sorted[i - 1]) twice.insert(sorted[i]);
  if (!twice.empty()) {
    std::map<std::string, std::size_t> first_line;
    QuestionsReader r(path);
    Question q;
    while (r.next(q)) {
      if (!twice.count(std::hash<std::string>{}(q.id))) continue;
      auto [it, fresh] = first_line.emplace(q.id, r.line());
      if (!fresh)
        throw SpecError(path + ":" + std::to_string(r.line()),
                        "duplicate question id '" + q.id + "' (first on line " + std::to_string(it->second) + ")");
    }
  }
  d.sha256_hex = hasher.finish_hex();
  return d;
}

}  // namespace beacon
