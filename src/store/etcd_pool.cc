#include "store/etcd_pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "store/etcd_keys.h"

namespace dslmodel::store {
namespace {

using nlohmann::json;

// An integer field in [lo, hi], or nullopt.
std::optional<std::int64_t> int_field(const json& j, const char* key, std::int64_t lo,
                                      std::int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<DesiredAgents> parse_desired(const std::string& text) {
  const json j = parse_json_or_discarded(text);
  if (!j.is_object()) return std::nullopt;
  auto target = int_field(j, "target", 0, std::numeric_limits<int>::max());
  if (!target) return std::nullopt;
  DesiredAgents d;
  d.target = static_cast<int>(*target);
  d.epoch = int_field(j, "epoch", 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
  d.decision_id = string_field(j, "decision_id");
  d.updated = string_field(j, "updated");
  return d;
}

std::optional<PoolMember> parse_member(const std::string& text) {
  const json j = parse_json_or_discarded(text);
  if (!j.is_object()) return std::nullopt;
  PoolMember m;
  m.id = string_field(j, "id");
  if (m.id.empty()) return std::nullopt;
  constexpr std::int64_t kMaxInt = std::numeric_limits<int>::max();
  m.host = string_field(j, "host");
  m.pid = int_field(j, "pid", 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
  m.running = static_cast<int>(int_field(j, "running", 0, kMaxInt).value_or(0));
  m.share = static_cast<int>(int_field(j, "share", 0, kMaxInt).value_or(0));
  m.updated = string_field(j, "updated");
  if (auto it = j.find("agents"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) m.agents.push_back(a.get<std::string>());
    }
  }
  return m;
}

// The previous target from a transaction's range answer (nullopt when none or unreadable).
std::optional<int> previous_target(const etcd::TxnResult& r) {
  if (r.ranges.empty() || r.ranges.front().kvs.empty()) return std::nullopt;
  auto d = parse_desired(r.ranges.front().kvs.front().value);
  if (!d) return std::nullopt;
  return d->target;
}

}  // namespace

EtcdPool::EtcdPool(etcd::Client& client, std::string prefix, const Clock& clock)
    : client_(client), prefix_(std::move(prefix)), clock_(clock) {}

std::string EtcdPool::pool_prefix() const { return prefix_ + "/pool/"; }
std::string EtcdPool::desired_key() const { return prefix_ + "/pool/desired"; }
std::string EtcdPool::member_key(const std::string& id) const {
  return prefix_ + "/pool/member/" + id;
}
std::string EtcdPool::leader_key() const { return etcd_leader_key(prefix_); }

Result<std::optional<DesiredAgents>> EtcdPool::desired() {
  auto r = client_.range(desired_key());
  if (!r.ok()) return r.status();
  if (r->kvs.empty()) return std::optional<DesiredAgents>();
  auto d = parse_desired(r->kvs.front().value);
  if (!d) {
    return Status(ErrorCode::kCorrupt,
                  desired_key() + ": not an object with an integer \"target\" >= 0");
  }
  return std::optional<DesiredAgents>(std::move(*d));
}

Result<std::optional<int>> EtcdPool::set_desired(int target, std::int64_t epoch,
                                                 const std::string& decision_id) {
  if (target < 0) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("desired agent count must be >= 0, got {}", target));
  }
  const json record = {{"target", target},
                       {"epoch", epoch},
                       {"decision_id", decision_id},
                       {"updated", format_iso8601(clock_.now())}};
  std::vector<etcd::Compare> compares;
  if (epoch > 0) {
    compares.push_back(
        etcd::Compare::create_revision(leader_key(), etcd::Compare::Op::kEqual, epoch));
  }
  auto r = client_.txn(compares, {etcd::TxnOp::get(desired_key()),
                                  etcd::TxnOp::put(desired_key(), dump_json(record))});
  if (!r.ok()) return r.status();
  if (!r->succeeded) {
    return Status(ErrorCode::kConflict, fmt::format("fenced: leadership lost (epoch {})", epoch));
  }
  return previous_target(*r);
}

Result<std::optional<int>> EtcdPool::clear_desired() {
  auto r = client_.txn({}, {etcd::TxnOp::get(desired_key()), etcd::TxnOp::del(desired_key())});
  if (!r.ok()) return r.status();
  return previous_target(*r);
}

Status EtcdPool::announce(const PoolMember& member, std::int64_t lease_id) {
  if (member.id.empty() || member.id.find('/') != std::string::npos) {
    return {ErrorCode::kInvalidArgument, "pool id must be non-empty and without '/'"};
  }
  const json record = {{"id", member.id},
                       {"host", member.host},
                       {"pid", member.pid},
                       {"running", member.running},
                       {"agents", member.agents},
                       {"share", member.share},
                       {"updated", format_iso8601(clock_.now())}};
  auto r = client_.put(member_key(member.id), dump_json(record), lease_id);
  return r.status();
}

Status EtcdPool::withdraw(const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos) {
    return {ErrorCode::kInvalidArgument, "pool id must be non-empty and without '/'"};
  }
  auto r = client_.txn({}, {etcd::TxnOp::del(member_key(id))});
  return r.status();
}

Result<std::vector<PoolMember>> EtcdPool::members() {
  const std::string from = prefix_ + "/pool/member/";
  etcd::RangeOptions options;
  options.range_end = etcd::prefix_end(from);
  auto r = client_.range(from, options);
  if (!r.ok()) return r.status();
  std::vector<PoolMember> out;
  for (const auto& kv : r->kvs) {
    auto m = parse_member(kv.value);
    // The key names the member: a record whose id disagrees with its key is not trusted.
    if (m && kv.key == member_key(m->id)) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(),
            [](const PoolMember& a, const PoolMember& b) { return a.id < b.id; });
  return out;
}

PoolLease::PoolLease(etcd::Client& client, std::chrono::seconds ttl) : client_(client), ttl_(ttl) {}

Result<std::int64_t> PoolLease::get(bool* fresh) {
  if (fresh != nullptr) *fresh = false;
  if (const std::int64_t id = id_.load(); id != 0) return id;
  auto lease = client_.lease_grant(ttl_.count());
  if (!lease.ok()) return lease.status();
  std::int64_t none = 0;
  if (!id_.compare_exchange_strong(none, lease->id)) {
    (void)client_.lease_revoke(lease->id);  // another thread granted one first
    return none;
  }
  if (fresh != nullptr) *fresh = true;
  return lease->id;
}

Status PoolLease::renew() {
  std::int64_t id = id_.load();
  if (id == 0) return Status::Ok();
  auto ttl = client_.lease_keepalive(id);
  if (!ttl.ok() && ttl.status().code() == ErrorCode::kNotFound) id_.compare_exchange_strong(id, 0);
  return ttl.status();
}

void PoolLease::keep(const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  const auto period = std::max(std::chrono::milliseconds(ttl_) / 3, std::chrono::milliseconds(100));
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, period, [] { return false; });
    }
    if (!stop.stop_requested()) (void)renew();
  }
}

Status PoolLease::revoke() {
  const std::int64_t id = id_.exchange(0);
  if (id == 0) return Status::Ok();
  return client_.lease_revoke(id);
}

int share_of(int target, std::vector<std::string> member_ids, const std::string& me) {
  if (target <= 0) return 0;
  std::sort(member_ids.begin(), member_ids.end());
  member_ids.erase(std::unique(member_ids.begin(), member_ids.end()), member_ids.end());
  auto it = std::lower_bound(member_ids.begin(), member_ids.end(), me);
  if (it == member_ids.end() || *it != me) return 0;
  const auto n = static_cast<int>(member_ids.size());
  const auto rank = static_cast<int>(it - member_ids.begin());
  return target / n + (rank < target % n ? 1 : 0);
}

}  // namespace dslmodel::store
