#include "app/settings.h"

#include <string>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "factory/backends.h"
#include "platform/files.h"

namespace dslmodel::app {
namespace {

using Mode = RemediationSetting::Mode;

constexpr std::size_t kMaxSettingsSize = std::size_t{64} * 1024;
constexpr const char* kKey = "remediation";
constexpr const char* kEtcdKey = "state/settings";  // under the store's prefix

Status corrupt(const std::filesystem::path& file, const std::string& why) {
  return {ErrorCode::kCorrupt, file.string() + ": " + why};
}

Result<RemediationSetting> parse_remediation(const std::filesystem::path& file,
                                             const nlohmann::json& r) {
  if (!r.is_object()) return corrupt(file, "\"remediation\" is not an object");
  const auto enabled = r.find("enabled");
  const auto live = r.find("live");
  if (enabled == r.end() || !enabled->is_boolean()) {
    return corrupt(file, "\"remediation.enabled\" is not a boolean");
  }
  if (live != r.end() && !live->is_boolean()) {
    return corrupt(file, "\"remediation.live\" is not a boolean");
  }
  RemediationSetting s;
  const bool is_live = live != r.end() && live->get<bool>();
  s.mode = !enabled->get<bool>() ? Mode::kDisabled : is_live ? Mode::kLive : Mode::kDryRun;
  if (const auto at = r.find("changed_at"); at != r.end() && !at->is_null()) {
    std::optional<TimePoint> t =
        at->is_string() ? parse_iso8601(at->get<std::string>()) : std::nullopt;
    if (!t) return corrupt(file, "\"remediation.changed_at\" is not an ISO-8601 time");
    s.changed_at = t;
  }
  return s;
}

// The file's top-level object, or an empty object when it is missing or unusable.
nlohmann::json existing_object(const std::filesystem::path& file) {
  Result<std::string> text = platform::read_file_limited(file, kMaxSettingsSize);
  if (!text.ok()) return nlohmann::json::object();
  nlohmann::json j = parse_json_or_discarded(*text);
  return j.is_object() ? j : nlohmann::json::object();
}

}  // namespace

RemediationEffect remediation_effect(const RemediationSetting& setting, bool configured_dry_run) {
  switch (setting.mode) {
    case Mode::kDisabled:
      return {.remediation_enabled = false, .dry_run = configured_dry_run};
    case Mode::kDryRun:
      return {.remediation_enabled = true, .dry_run = true};
    case Mode::kUnset:
    case Mode::kLive:
      break;
  }
  return {.remediation_enabled = true, .dry_run = configured_dry_run};
}

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kUnset:
      return "unset";
    case Mode::kDisabled:
      return "disabled";
    case Mode::kDryRun:
      return "dry_run";
    case Mode::kLive:
      return "live";
  }
  return "unset";
}

std::filesystem::path settings_path(const std::filesystem::path& coordination_dir) {
  return coordination_dir / ".dsl" / "settings.json";
}

Result<RemediationSetting> load_remediation(const std::filesystem::path& coordination_dir) {
  const std::filesystem::path file = settings_path(coordination_dir);
  Result<std::string> text = platform::read_file_limited(file, kMaxSettingsSize);
  if (!text.ok()) {  // the message names the file
    if (text.status().code() == ErrorCode::kNotFound) return RemediationSetting{};
    return text.status();
  }
  nlohmann::json j = parse_json_or_discarded(*text);
  if (j.is_discarded()) return corrupt(file, "not valid JSON");
  if (!j.is_object()) return corrupt(file, "not a JSON object");
  const auto r = j.find(kKey);
  if (r == j.end()) return RemediationSetting{};
  return parse_remediation(file, *r);
}

namespace {

// Sets (or, for kUnset, removes) the "remediation" member of a settings document.
void put_setting(nlohmann::json& doc, const RemediationSetting& setting) {
  if (setting.mode == Mode::kUnset) {
    doc.erase(kKey);
    return;
  }
  nlohmann::json r = remediation_json(setting);
  r.erase("mode");
  doc[kKey] = std::move(r);
}

}  // namespace

Status save_remediation(const std::filesystem::path& coordination_dir,
                        const RemediationSetting& setting) {
  const std::filesystem::path file = settings_path(coordination_dir);
  if (Status s = platform::ensure_state_directory(file.parent_path()); !s.ok()) return s;
  nlohmann::json j = existing_object(file);
  put_setting(j, setting);
  return platform::atomic_write_file(file, dump_json(j, 2) + "\n");
}

std::string settings_location(const Config& config) {
  if (!uses_etcd(config)) return settings_path(config.coordination_dir).string();
  return config.store.url + " " + kEtcdKey;
}

Result<RemediationSetting> load_remediation(const Config& config) {
  if (!uses_etcd(config)) return load_remediation(config.coordination_dir);
  auto doc = read_state(config, kEtcdKey);
  if (!doc.ok()) return doc.status();
  if (!doc->has_value()) return RemediationSetting{};
  const std::filesystem::path where = settings_location(config);
  nlohmann::json j = parse_json_or_discarded(**doc);
  if (!j.is_object()) return corrupt(where, "not a JSON object");
  const auto r = j.find(kKey);
  if (r == j.end()) return RemediationSetting{};
  return parse_remediation(where, *r);
}

Status save_remediation(const Config& config, const RemediationSetting& setting) {
  if (!uses_etcd(config)) return save_remediation(config.coordination_dir, setting);
  auto doc = read_state(config, kEtcdKey);
  if (!doc.ok()) return doc.status();
  nlohmann::json j = doc->has_value() ? parse_json_or_discarded(**doc) : nlohmann::json::object();
  if (!j.is_object()) j = nlohmann::json::object();
  put_setting(j, setting);
  return write_state(config, kEtcdKey, dump_json(j));
}

nlohmann::json remediation_json(const RemediationSetting& setting) {
  nlohmann::json j;
  if (setting.mode == Mode::kUnset) {
    j["enabled"] = nullptr;
    j["live"] = nullptr;
  } else {
    j["enabled"] = setting.mode != Mode::kDisabled;
    j["live"] = setting.mode == Mode::kLive;
  }
  j["mode"] = std::string(mode_name(setting.mode));
  j["changed_at"] =
      setting.changed_at ? nlohmann::json(format_iso8601(*setting.changed_at)) : nlohmann::json();
  return j;
}

}  // namespace dslmodel::app
