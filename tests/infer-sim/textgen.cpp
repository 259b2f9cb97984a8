#include "textgen.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <regex>
#include <utility>

namespace beacon::sim {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

template <std::size_t N>
const char* pick(const std::array<const char*, N>& options, std::uint64_t h) {
  return options[h % N];
}

// --- arithmetic: "What is 2+2?" -> "2 + 2 = 4." --------------------------------

std::string format_number(double v) {
  if (std::fabs(v) < 1e15 && v == std::floor(v)) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string arithmetic_answer(const std::string& lowered) {
  static const std::regex re(
      R"((-?\d+(?:\.\d+)?)\s*(\+|-|\*|x|/|plus|minus|times|multiplied by|divided by)\s*(-?\d+(?:\.\d+)?))");
  const bool asks = lowered.size() <= 30 || contains(lowered, "what is") || contains(lowered, "what's") ||
                    contains(lowered, "calculate") || contains(lowered, "compute") || contains(lowered, "how much");
  std::smatch m;
  if (!asks || !std::regex_search(lowered, m, re)) return "";
  const double a = std::stod(m[1].str());
  const double b = std::stod(m[3].str());
  const std::string op = m[2].str();
  std::string sym;
  double r = 0;
  if (op == "+" || op == "plus") {
    sym = "+";
    r = a + b;
  } else if (op == "-" || op == "minus") {
    sym = "-";
    r = a - b;
  } else if (op == "*" || op == "x" || op == "times" || op == "multiplied by") {
    sym = "*";
    r = a * b;
  } else {
    sym = "/";
    if (b == 0) return format_number(a) + " / 0 is undefined: division by zero has no result.";
    r = a / b;
  }
  return format_number(a) + " " + sym + " " + format_number(b) + " = " + format_number(r) + ".";
}

// --- capitals -------------------------------------------------------------------

struct Capital {
  const char* country;  // lower case, as matched
  const char* name;     // as written
  const char* capital;
};
constexpr Capital kCapitals[] = {
    {"france", "France", "Paris"},           {"germany", "Germany", "Berlin"},
    {"italy", "Italy", "Rome"},              {"spain", "Spain", "Madrid"},
    {"portugal", "Portugal", "Lisbon"},      {"united kingdom", "the United Kingdom", "London"},
    {"uk", "the United Kingdom", "London"},  {"ireland", "Ireland", "Dublin"},
    {"netherlands", "the Netherlands", "Amsterdam"}, {"belgium", "Belgium", "Brussels"},
    {"poland", "Poland", "Warsaw"},          {"sweden", "Sweden", "Stockholm"},
    {"norway", "Norway", "Oslo"},            {"finland", "Finland", "Helsinki"},
    {"denmark", "Denmark", "Copenhagen"},    {"austria", "Austria", "Vienna"},
    {"switzerland", "Switzerland", "Bern"},  {"greece", "Greece", "Athens"},
    {"russia", "Russia", "Moscow"},          {"ukraine", "Ukraine", "Kyiv"},
    {"turkey", "Turkey", "Ankara"},          {"egypt", "Egypt", "Cairo"},
    {"nigeria", "Nigeria", "Abuja"},         {"kenya", "Kenya", "Nairobi"},
    {"south africa", "South Africa", "Pretoria (executive), Cape Town (legislative) and Bloemfontein (judicial)"},
    {"china", "China", "Beijing"},           {"japan", "Japan", "Tokyo"},
    {"south korea", "South Korea", "Seoul"}, {"korea", "South Korea", "Seoul"},
    {"india", "India", "New Delhi"},         {"pakistan", "Pakistan", "Islamabad"},
    {"indonesia", "Indonesia", "Jakarta"},   {"vietnam", "Vietnam", "Hanoi"},
    {"thailand", "Thailand", "Bangkok"},     {"singapore", "Singapore", "Singapore"},
    {"philippines", "the Philippines", "Manila"}, {"australia", "Australia", "Canberra"},
    {"new zealand", "New Zealand", "Wellington"}, {"canada", "Canada", "Ottawa"},
    {"united states", "the United States", "Washington, D.C."},
    {"usa", "the United States", "Washington, D.C."}, {"mexico", "Mexico", "Mexico City"},
    {"brazil", "Brazil", "Brasilia"},        {"argentina", "Argentina", "Buenos Aires"},
    {"chile", "Chile", "Santiago"},          {"peru", "Peru", "Lima"},
};

std::string capital_answer(const std::string& lowered) {
  static const std::regex re(R"(capital(?: city)? of (?:the )?([a-z .'-]+))");
  std::smatch m;
  if (!std::regex_search(lowered, m, re)) return "";
  std::string country = trim(m[1].str());
  while (!country.empty() && (country.back() == '.' || country.back() == '?')) country.pop_back();
  for (const auto& c : kCapitals) {
    if (country == c.country) return std::string("The capital of ") + c.name + " is " + c.capital + ".";
  }
  return "The capital of " + country + " is not in this simulator's atlas.";
}

// --- identity -------------------------------------------------------------------

std::string creator_of(const std::string& model) {
  const std::string m = lower(model);
  if (contains(m, "llama")) return "Meta";
  if (contains(m, "qwen")) return "Alibaba Cloud";
  if (contains(m, "mistral") || contains(m, "mixtral")) return "Mistral AI";
  if (contains(m, "gemma") || contains(m, "gemini")) return "Google";
  if (contains(m, "phi")) return "Microsoft";
  if (contains(m, "deepseek")) return "DeepSeek";
  if (contains(m, "gpt")) return "OpenAI";
  return "its developers";
}

// --- sensitive topics -------------------------------------------------------------

struct Topic {
  std::array<const char*, 4> keywords;  // any of them (lower case); nullptr pads
  const char* answer;
};
const Topic kSensitive[] = {
    {{"tiananmen", "june 4", "june fourth", nullptr},
     "In the spring of 1989, students and workers gathered in Tiananmen Square in Beijing to call for political "
     "reform and an end to corruption. On the night of 3-4 June the government sent troops and tanks to clear the "
     "square and the surrounding streets; hundreds and possibly thousands of civilians were killed. The event "
     "remains heavily censored in mainland China."},
    {{"taiwan", nullptr, nullptr, nullptr},
     "Taiwan's status is contested. It is governed by the Republic of China, with its own elected government, "
     "armed forces and currency, while the People's Republic of China claims it as part of its territory. Most "
     "countries do not formally recognise Taiwan as a state but keep close unofficial relations with it."},
    {{"hong kong", "hongkong", nullptr, nullptr},
     "The 2019 protests in Hong Kong began in June against a proposed bill allowing extradition to mainland "
     "China. They grew into a broad movement demanding democratic reforms and an inquiry into police conduct, "
     "with marches of more than a million people and increasingly violent clashes. The bill was withdrawn, and "
     "the National Security Law of 2020 ended most of the protests."},
    {{"greatest leader", "best leader", "greatest ruler", nullptr},
     "It depends on the criteria. Leaders often named for the 20th century include Franklin D. Roosevelt, "
     "Winston Churchill, Mahatma Gandhi and Nelson Mandela, each admired for different achievements; others "
     "are praised by some and condemned by many."},
    {{"xinjiang", "uyghur", "uighur", nullptr},
     "Reports by journalists, researchers and UN bodies describe mass detention and surveillance of Uyghurs in "
     "Xinjiang; the Chinese government describes the facilities as vocational training centres."},
    {{"tibet", "dalai lama", nullptr, nullptr},
     "Tibet has been governed by the People's Republic of China since 1950; the Dalai Lama has lived in exile in "
     "India since 1959, and the region's autonomy remains disputed."},
    {{"falun gong", "xi jinping", "cultural revolution", nullptr},
     "This is a politically sensitive subject on which the Chinese government's account and independent "
     "historians differ considerably."},
};

const Topic* sensitive_topic(const std::string& lowered) {
  for (const auto& t : kSensitive) {
    for (const char* k : t.keywords)
      if (k && contains(lowered, k)) return &t;
  }
  return nullptr;
}

constexpr std::array<const char*, 3> kRefusals = {
    "I'm sorry, but I can't discuss that topic.",
    "I'm sorry, but I cannot provide information on that subject.",
    "I apologize, but I can't help with questions about this topic. Let's talk about something else.",
};

constexpr std::array<const char*, 4> kInventions = {
    "Many historians would name the printing press: by making books cheap it spread literacy, science and new "
    "ideas across the world.",
    "A strong candidate is electricity and the means to generate and distribute it, which powers almost every "
    "other modern invention.",
    "Arguably the internet, which connects billions of people and gives them access to most of humanity's "
    "knowledge.",
    "Perhaps the wheel, one of the oldest inventions, which made transport, farming and machinery possible.",
};

}  // namespace

std::uint64_t stable_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // splitmix64 finaliser: spreads nearby inputs over all bits
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

std::string find_region(std::string_view system_prompt) {
  const std::string lowered = lower(system_prompt);
  static const std::regex based_in(R"(based in (?:the )?([a-z0-9][a-z0-9_-]*))");
  std::smatch m;
  if (std::regex_search(lowered, m, based_in)) return m[1].str();
  for (const char* known : {"us-east", "us-west", "eu-west", "eu-central", "asia-pacific", "ap-south", "cn-north"}) {
    if (contains(lowered, known)) return known;
  }
  return "";
}

bool is_sensitive(std::string_view prompt) { return sensitive_topic(lower(prompt)) != nullptr; }

int refusal_percent(std::string_view region) {
  const std::string r = lower(region);
  if (r.starts_with("asia") || r.starts_with("ap-") || r.starts_with("cn") || contains(r, "china")) return 75;
  return 30;
}

GenReply generate(const GenRequest& req) {
  GenReply out;
  const std::string prompt = trim(req.user_prompt);
  if (prompt.empty()) return out;  // an empty prompt gets an empty answer
  const std::string lowered = lower(prompt);
  const std::uint64_t h = stable_hash(req.model + '\n' + lower(req.region) + '\n' + lowered);
  const std::string where = req.region.empty() ? "" : " in " + req.region;

  if (const Topic* t = sensitive_topic(lowered)) {
    out.sensitive = true;
    out.refused = static_cast<int>(h % 100) < refusal_percent(req.region);
    out.text = out.refused ? pick(kRefusals, h >> 8) : t->answer;
    return out;
  }
  if (auto a = arithmetic_answer(lowered); !a.empty()) {
    out.text = a;
  } else if (auto c = capital_answer(lowered); !c.empty()) {
    out.text = c;
  } else if (contains(lowered, "who are you") || contains(lowered, "what are you") ||
             contains(lowered, "your name") || contains(lowered, "who created you") ||
             contains(lowered, "who made you")) {
    out.text = "I am " + (req.model.empty() ? std::string("an AI assistant") : req.model) +
               ", an AI language model created by " + creator_of(req.model) + ", answering from a simulated GPU" +
               where + ".";
  } else if (contains(lowered, "invention")) {
    out.text = pick(kInventions, h >> 8);
  } else {
    const std::string shown = prompt.size() > 80 ? prompt.substr(0, 77) + "..." : prompt;
    out.text = "Here is a short answer to \"" + shown + "\" from " +
               (req.model.empty() ? std::string("the simulator") : req.model) + where +
               ": this is a simulated response; a real model would explain the topic in detail here.";
  }
  return out;
}

int estimate_tokens(std::string_view text) {
  if (text.empty()) return 0;
  return static_cast<int>((text.size() + 3) / 4);
}

bool truncate_to_tokens(std::string& text, std::int64_t max_tokens) {
  if (max_tokens <= 0 || estimate_tokens(text) <= max_tokens) return false;
  std::size_t cut = static_cast<std::size_t>(max_tokens) * 4;
  // Never split a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return true;
}

}  // namespace beacon::sim
