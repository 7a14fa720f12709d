#include "factory/backends.h"

#include <unistd.h>

#include <filesystem>

#include "etcd/client.h"
#include "store/dir_work_queue.h"
#include "store/etcd_keys.h"
#include "store/etcd_work_queue.h"

namespace dslmodel {
namespace {

struct EtcdTarget {
  std::shared_ptr<etcd::Client> client;
  std::string prefix;
};

Result<EtcdTarget> connect(const Config& config) {
  auto url = etcd::parse_store_url(config.store.url);
  if (!url.ok()) return url.status();
  return EtcdTarget{std::make_shared<etcd::Client>(url->endpoints), url->prefix};
}

}  // namespace

bool uses_etcd(const Config& config) { return !config.store.url.empty(); }

Status validate_store_url(const std::string& url) {
  if (url.empty()) return Status::Ok();
  auto parsed = etcd::parse_store_url(url);
  if (!parsed.ok()) {
    return {ErrorCode::kInvalidArgument, "store URL '" + url + "': " + parsed.status().message()};
  }
  return Status::Ok();
}

Result<std::unique_ptr<WorkQueue>> make_work_queue(const Config& config, const Clock* clock) {
  if (!uses_etcd(config)) {
    return std::unique_ptr<WorkQueue>(
        std::make_unique<store::DirWorkQueue>(config.coordination_dir, config.store, clock));
  }
  auto t = connect(config);
  if (!t.ok()) return t.status();
  return std::unique_ptr<WorkQueue>(
      std::make_unique<store::EtcdWorkQueue>(t->client, t->prefix, config.store, clock));
}

std::function<Status(const std::string& name, std::string_view data)> telemetry_sink(
    const Config& config) {
  if (!uses_etcd(config)) return {};
  auto t = connect(config);
  if (!t.ok()) return {};
  return [client = t->client, prefix = t->prefix](const std::string& name,
                                                  std::string_view data) -> Status {
    auto key = store::key_for_file(prefix, name);
    if (!key) return {ErrorCode::kInvalidArgument, "not a record name: " + name};
    auto put = client->put(*key, std::string(data));
    return put.ok() ? Status::Ok() : put.status();
  };
}

Result<std::optional<std::string>> read_state(const Config& config, const std::string& name) {
  auto t = connect(config);
  if (!t.ok()) return t.status();
  auto got = t->client->range(t->prefix + "/" + name);
  if (!got.ok()) return got.status();
  if (got->kvs.empty()) return std::optional<std::string>();
  return std::optional<std::string>(got->kvs.front().value);
}

Status write_state(const Config& config, const std::string& name, const std::string& value) {
  auto t = connect(config);
  if (!t.ok()) return t.status();
  auto put = t->client->put(t->prefix + "/" + name, value);
  return put.ok() ? Status::Ok() : put.status();
}

std::string replica_id(const Config& config) {
  if (!config.ha.id.empty()) return config.ha.id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "host") + "-" + std::to_string(::getpid());
}

}  // namespace dslmodel
