#include <beacon/dashboard/api_json.hpp>

#include <beacon/core/json.hpp>
#include <beacon/views/from_db.hpp>
#include <beacon/views/status_text.hpp>

namespace beacon::dashboard {
namespace {

void put_string(json::Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}

void put_optional(json::Writer& w, const char* key, const std::optional<std::string>& v) {
  w.Key(key);
  if (v) w.String(v->data(), static_cast<rapidjson::SizeType>(v->size()));
  else w.Null();
}

void put_optional(json::Writer& w, const char* key, const std::optional<double>& v) {
  w.Key(key);
  if (v) w.Double(*v);
  else w.Null();
}

void put_optional(json::Writer& w, const char* key, const std::optional<std::int64_t>& v) {
  w.Key(key);
  if (v) w.Int64(*v);
  else w.Null();
}

void put_raw_or_null(json::Writer& w, const char* key, const std::optional<std::string>& raw) {
  if (raw) {
    json::write_raw(w, key, *raw);
  } else {
    w.Key(key);
    w.Null();
  }
}

// The status --json object of the job, with `groups` under `group_key`, as a document.
json::Document status_document(const views::JobSummary& job, const std::vector<views::GroupRow>& groups,
                               const char* group_key) {
  return json::parse(views::render_status_json(job, groups, group_key));
}

json::Document job_document(const JobView& v, bool with_groups) {
  json::Document doc = status_document(v.job, v.questions, "questions");
  auto& a = doc.GetAllocator();
  if (with_groups) {
    for (const auto& [key, rows] : {std::pair{"regions", &v.regions}, std::pair{"models", &v.models}}) {
      json::Document part = status_document(v.job, *rows, key);
      json::Value name(key, a);
      json::Value value(part[key], a);  // deep copy into doc's allocator
      doc.AddMember(name, value, a);
    }
  } else {
    doc.RemoveMember("questions");
  }
  auto add_optional = [&](const char* key, const std::optional<std::string>& s) {
    json::Value name(key, a);
    json::Value value;
    if (s) value.SetString(s->data(), static_cast<rapidjson::SizeType>(s->size()), a);
    doc.AddMember(name, value, a);
  };
  add_optional("started_at", v.started_at);
  add_optional("finished_at", v.finished_at);
  doc.AddMember("submissions", v.submissions, a);
  // A string: a microsecond timestamp is beyond what every JSON reader keeps exact.
  const std::string version = std::to_string(v.version);
  doc.AddMember("version", json::Value(version.c_str(), a), a);
  const std::string mode(to_string(v.matrix));
  doc.AddMember("matrix", json::Value(mode.c_str(), a), a);
  return doc;
}

}  // namespace

std::string_view to_string(MatrixMode m) {
  switch (m) {
    case MatrixMode::cells: return "cells";
    case MatrixMode::questions: return "questions";
  }
  return "cells";
}

std::string render_job_list_json(const std::vector<JobView>& jobs) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::Value list(rapidjson::kArrayType);
  for (const auto& v : jobs) {
    json::Document one = job_document(v, false);
    list.PushBack(json::Value(one, a), a);
  }
  doc.AddMember("jobs", list, a);
  return json::to_string(doc) + "\n";
}

std::string render_job_json(const JobView& v) { return json::to_string(job_document(v, true)) + "\n"; }

std::string render_matrix_json(const MatrixPage& m) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  put_string(w, "job_id", m.job_id);
  put_string(w, "version", std::to_string(m.version));
  put_string(w, "mode", std::string(to_string(m.mode)));
  put_optional(w, "question", m.question);
  w.Key("offset");
  w.Int(m.offset);
  w.Key("limit");
  w.Int(m.limit);
  w.Key("cells");
  w.StartArray();
  for (const auto& c : m.cells) {
    w.StartArray();
    w.String(c.question_id.data(), static_cast<rapidjson::SizeType>(c.question_id.size()));
    w.String(c.model_id.data(), static_cast<rapidjson::SizeType>(c.model_id.size()));
    w.String(c.region.data(), static_cast<rapidjson::SizeType>(c.region.size()));
    w.Int(c.sample);
    w.String(c.status.data(), static_cast<rapidjson::SizeType>(c.status.size()));
    if (c.classification) w.String(c.classification->data(), static_cast<rapidjson::SizeType>(c.classification->size()));
    else w.Null();
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

namespace {

void write_row_fields(json::Writer& w, const db::ExecutionRow& r) {
  put_string(w, "region", r.key.region);
  put_string(w, "model_id", r.key.model_id);
  put_string(w, "question_id", r.key.question_id);
  w.Key("sample");
  w.Int(r.key.sample);
  put_string(w, "status", std::string(to_string(r.status)));
  put_optional(w, "classification",
               r.classification ? std::optional<std::string>(std::string(to_string(*r.classification))) : std::nullopt);
  put_string(w, "text", views::answer_text(r.output_json));
  put_optional(w, "latency_ms", r.latency_ms);
}

}  // namespace

std::string render_execution_json(const ExecutionDetail& d) {
  const auto& r = d.row;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  put_string(w, "job_id", r.key.job_id);
  write_row_fields(w, r);
  w.Key("attempts");
  w.Int(r.attempts);
  put_optional(w, "seed", r.seed);
  put_optional(w, "cost_usd", r.cost_usd);
  put_raw_or_null(w, "reused_from", r.reused_from_json);  // the source of a copied answer (reuse)
  put_optional(w, "worker_id", r.worker_id);
  put_optional(w, "prompt", d.prompt);
  put_optional(w, "system_prompt", d.system_prompt);
  put_raw_or_null(w, "output", r.output_json);
  put_raw_or_null(w, "receipt", r.receipt_json);
  put_raw_or_null(w, "error", r.error_json);
  put_optional(w, "prompt_tokens", r.prompt_tokens);
  put_optional(w, "completion_tokens", r.completion_tokens);
  put_optional(w, "started_at", r.started_at);
  put_optional(w, "completed_at", r.completed_at);
  put_string(w, "updated_at", r.updated_at);
  w.Key("regions");
  w.StartArray();
  for (const auto& other : d.regions) {
    w.StartObject();
    write_row_fields(w, other);
    put_raw_or_null(w, "error", other.error_json);
    w.EndObject();
  }
  w.EndArray();
  put_optional(w, "divergence", d.divergence);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string render_error_json(const std::string& message) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  put_string(w, "error", message);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace beacon::dashboard
