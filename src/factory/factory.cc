// make_engine_parts: the adapters a Config names, one etcd client among them.
#include "dslmodel/factory.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "etcd/client.h"
#include "factory/actuator_factory.h"
#include "factory/backends.h"
#include "ha/etcd_elector.h"
#include "ha/lock_file_elector.h"
#include "journal/etcd_journal.h"
#include "journal/file_journal.h"
#include "store/dir_store.h"
#include "store/etcd_store.h"

namespace dslmodel {
namespace {

namespace fs = std::filesystem;

Status directory_parts(const Config& config, EngineParts& parts) {
  parts.store = std::make_unique<store::DirStore>(config.coordination_dir, config.store);
  parts.journal = std::make_unique<journal::FileJournal>(
      fs::path(parts.store->state_dir()) / "journal.jsonl", config.journal);
  if (config.leader_election) {
    parts.elector = std::make_unique<ha::LockFileElector>(
        fs::path(config.coordination_dir) / ".dsl", replica_id(config));
  }
  return Status::Ok();
}

// `client` is the one etcd client every adapter of the URL shares.
Status etcd_parts(const Config& config, EngineParts& parts, std::shared_ptr<etcd::Client>& client) {
  auto url = etcd::parse_store_url(config.store.url);
  if (!url.ok()) return validate_store_url(config.store.url);
  client = std::make_shared<etcd::Client>(url->endpoints);
  parts.store =
      std::make_unique<store::EtcdStore>(client, url->prefix, config.store, config.store.url);
  parts.journal = std::make_unique<journal::EtcdJournal>(client, url->prefix);
  if (config.leader_election) {
    parts.elector = std::make_unique<ha::EtcdElector>(client, url->prefix, replica_id(config),
                                                      config.ha.lease_ttl);
  }
  return Status::Ok();
}

// True when actuator.kind names an actuator (kAuto: when scale_command is set).
bool actuator_configured(const ActuatorConfig& a) {
  return a.kind == ActuatorKind::kAuto ? !a.scale_command.empty() : a.kind != ActuatorKind::kNone;
}

}  // namespace

Result<EngineParts> make_engine_parts(const Config& config) {
  if (Status s = validate_store_url(config.store.url); !s.ok()) return s;
  EngineParts parts;
  parts.clock = std::make_unique<SystemClock>();
  std::shared_ptr<etcd::Client> client;
  Status made =
      uses_etcd(config) ? etcd_parts(config, parts, client) : directory_parts(config, parts);
  if (!made.ok()) return made;
  if (parts.elector && actuator_configured(config.actuator)) {
    parts.actuator_source = [config, clock = parts.clock.get(), client] {
      return make_actuator(config, *clock, client);
    };
    return parts;
  }
  auto actuator = make_actuator(config, *parts.clock, client);
  if (!actuator.ok()) {
    return Status(actuator.status().code(), "actuator: " + actuator.status().message());
  }
  parts.actuator = std::move(actuator).value();
  return parts;
}

Result<std::unique_ptr<AutonomousDecisionEngine>> make_engine(const Config& config) {
  auto parts = make_engine_parts(config);
  if (!parts.ok()) return parts.status();
  return std::make_unique<AutonomousDecisionEngine>(config, std::move(parts).value());
}

}  // namespace dslmodel
