#include <beacon/db/event_batch.hpp>

#include <map>
#include <set>

#include <beacon/db/pg_json.hpp>
#include <beacon/db/timestamps.hpp>

namespace beacon::db {
namespace {

void write_time(json::Writer& w, const char* key, const std::string& rfc3339) {
  w.Key(key);
  if (auto us = parse_rfc3339_us(rfc3339))
    w.Int64(*us);
  else
    w.Null();
}

void write_optional_long(json::Writer& w, const char* key, const std::optional<long>& v) {
  w.Key(key);
  if (v)
    w.Int64(*v);
  else
    w.Null();
}

void write_output(json::Writer& w, const Output& o) {
  w.StartObject();
  w.Key("text");
  write_string(w, o.text);
  w.Key("classification");
  write_string(w, to_string(o.classification));
  w.Key("finish_reason");
  write_string(w, o.finish_reason);
  w.Key("usage");
  w.StartObject();
  if (o.prompt_tokens) {
    w.Key("prompt_tokens");
    w.Int64(*o.prompt_tokens);
  }
  if (o.completion_tokens) {
    w.Key("completion_tokens");
    w.Int64(*o.completion_tokens);
  }
  w.EndObject();
  w.EndObject();
}

void write_receipt(json::Writer& w, const Receipt& r) {
  w.StartObject();
  w.Key("endpoint");
  write_string(w, r.endpoint);
  w.Key("provider_id");
  write_string(w, r.provider_id);
  w.Key("http_status");
  w.Int(r.http_status);
  w.Key("latency_ms");
  write_number(w, r.latency_ms);
  if (!r.provider_receipt_json.empty()) {
    // Kept as JSON when it is JSON, as a string otherwise: it is evidence,
    // never a reason to fail the batch.
    w.Key("provider_receipt");
    json::Document doc;
    doc.Parse(r.provider_receipt_json.data(), r.provider_receipt_json.size());
    if (doc.HasParseError())
      write_string(w, r.provider_receipt_json);
    else
      write_value(w, doc);
  }
  w.EndObject();
}

void write_event(json::Writer& w, std::size_t i, const ResultEvent& e, const std::string& started_at) {
  w.StartObject();
  w.Key("i");
  w.Uint64(i);
  w.Key("job_id");
  write_string(w, e.key.job_id);
  w.Key("region");
  write_string(w, e.key.region);
  w.Key("model_id");
  write_string(w, e.key.model_id);
  w.Key("question_id");
  write_string(w, e.key.question_id);
  w.Key("sample");
  w.Int(e.key.sample);
  w.Key("status");
  write_string(w, to_string(status_after(e.event)));
  w.Key("submission");
  w.Int(e.submission);
  w.Key("worker_id");
  if (e.worker_id.empty())
    w.Null();
  else
    write_string(w, e.worker_id);
  w.Key("attempt");
  w.Int(e.attempt);
  if (e.seed) {
    w.Key("seed");
    w.Int64(*e.seed);
  }
  if (e.cost_usd) {
    w.Key("cost_usd");
    w.Double(*e.cost_usd);
  }
  if (e.request_digest) {
    w.Key("request_digest");
    write_string(w, *e.request_digest);
  }
  if (e.reused_from) {
    w.Key("reused_from");
    w.StartObject();
    w.Key("job_id");
    write_string(w, e.reused_from->job_id);
    w.Key("region");
    write_string(w, e.reused_from->region);
    w.Key("model_id");
    write_string(w, e.reused_from->model_id);
    w.Key("question_id");
    write_string(w, e.reused_from->question_id);
    w.Key("sample");
    w.Int(e.reused_from->sample);
    w.EndObject();
  }
  write_time(w, "started_us", started_at);
  write_time(w, "completed_us", e.completed_at);

  w.Key("output");
  if (e.output)
    write_output(w, *e.output);
  else
    w.Null();
  w.Key("classification");
  if (e.output)
    write_string(w, to_string(e.output->classification));
  else
    w.Null();
  w.Key("receipt");
  if (e.receipt)
    write_receipt(w, *e.receipt);
  else
    w.Null();
  w.Key("latency_ms");
  if (e.receipt)
    write_number(w, e.receipt->latency_ms);
  else
    w.Null();
  write_optional_long(w, "prompt_tokens", e.output ? e.output->prompt_tokens : std::nullopt);
  write_optional_long(w, "completion_tokens", e.output ? e.output->completion_tokens : std::nullopt);
  w.Key("error");
  if (e.error) {
    w.StartObject();
    w.Key("kind");
    write_string(w, std::string(to_string(e.error->kind)));
    w.Key("message");
    write_string(w, e.error->message);
    if (e.error->reason) {
      w.Key("reason");
      write_string(w, std::string(to_string(*e.error->reason)));
    }
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
}

// Of two events for one key in one batch: the newer submission's, except that
// a `completed` always beats the rest (paid work is kept, whichever run);
// then the higher event_rank; of equal ranks the later one (`>=`).
bool wins_over(const ResultEvent& later, const ResultEvent& earlier) {
  const bool later_done = later.event == EventKind::completed, earlier_done = earlier.event == EventKind::completed;
  if (later_done != earlier_done) return later_done;
  if (later.submission != earlier.submission) return later.submission > earlier.submission;
  return event_rank(later.event) >= event_rank(earlier.event);
}

}  // namespace

std::vector<KeyedEvent> reduce_per_key(const std::vector<ResultEvent>& batch) {
  std::map<ExecutionKey, KeyedEvent> by_key;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto [it, fresh] = by_key.try_emplace(batch[i].key);
    KeyedEvent& k = it->second;
    if (fresh || wins_over(batch[i], batch[k.winner])) k.winner = i;
    k.members.push_back(i);
  }
  std::vector<KeyedEvent> out;
  out.reserve(by_key.size());
  for (auto& [key, k] : by_key) {
    k.started_at = batch[k.winner].started_at;
    for (auto it = k.members.rbegin(); k.started_at.empty() && it != k.members.rend(); ++it)
      k.started_at = batch[*it].started_at;
    out.push_back(std::move(k));
  }
  return out;
}

std::string encode_events(const std::vector<ResultEvent>& batch, const std::vector<KeyedEvent>& reduced) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartArray();
  for (std::size_t k = 0; k < reduced.size(); ++k)
    write_event(w, k, batch.at(reduced[k].winner), reduced[k].started_at);
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string encode_job_ids(const std::vector<ResultEvent>& batch) {
  std::set<std::string> ids;
  for (const auto& e : batch) ids.insert(e.key.job_id);
  return string_array(ids);
}

}  // namespace beacon::db
