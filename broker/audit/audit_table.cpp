#include "broker/audit/audit_table.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "broker/core/random.hpp"

namespace credbroker::audit {
namespace {

using nlohmann::json;

error bad(std::string message) { return make_error(errc::invalid_request, std::move(message)); }

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

// Vault's test probe: a request entry for sys/audit/test.
log_input test_probe() {
  log_input in;
  in.request.id = random_uuid();
  in.request.operation = "update";
  in.request.path = "sys/audit/test";
  return in;
}

status record_test_message(const device& d, time_point now) {
  if (auto s = d.sink().write(d.request_line(test_probe(), now)); !s) {
    return bad("audit device failed test message: " + s.err().message);
  }
  return ok_v;
}

std::shared_ptr<const device> placeholder(device_entry e, const std::string& reason) {
  return std::make_shared<device>(std::move(e), format_options{}, salt(secret(random_uuid())),
                                  std::make_unique<failing_sink>(reason));
}

}  // namespace

std::string table_json(const std::vector<device_entry>& rows) {
  json entries = json::array();
  for (const auto& e : rows) {
    entries.push_back({{"path", e.path},
                       {"type", e.type},
                       {"description", e.description},
                       {"options", e.options},
                       {"local", e.local},
                       {"uuid", e.uuid}});
  }
  return json{{"type", "audit"}, {"entries", entries}}.dump();
}

result<std::vector<device_entry>> parse_table(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") || !doc["entries"].is_array()) {
    return make_error(errc::integrity_failure, "core/audit is not an audit table");
  }
  std::vector<device_entry> rows;
  try {
    for (const auto& j : doc["entries"]) {
      device_entry e;
      e.path = j.at("path").get<std::string>();
      e.type = j.at("type").get<std::string>();
      e.description = j.value("description", "");
      e.options = j.value("options", std::map<std::string, std::string>{});
      e.local = j.value("local", false);
      e.uuid = j.at("uuid").get<std::string>();
      rows.push_back(std::move(e));
    }
  } catch (const json::exception&) {
    return make_error(errc::integrity_failure, "core/audit holds a malformed device entry");
  }
  return rows;
}

result<std::string> normalize_device_path(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty()) return bad("audit device path must be specified");
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string_view seg =
        std::string_view(path).substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (seg.empty() || seg == "." || seg == ".." || !std::all_of(seg.begin(), seg.end(), name_char)) {
      return bad("invalid audit device path \"" + path + "/\": use names of letters, digits, '_', '-' and '.'");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return path + "/";
}

std::vector<device_entry> audit_table::list() const {
  std::lock_guard lock(mu_);
  std::vector<device_entry> out;
  for (const auto& d : devices_) out.push_back(d->entry());
  return out;
}

status audit_table::persist(std::vector<storage::operation> ops, const std::vector<device_entry>& rows) {
  ops.push_back(storage::operation::put(table_key, table_json(rows)));
  return store_.apply(std::move(ops));
}

void audit_table::publish() { broker_.set_devices(audit_broker::device_set(devices_.begin(), devices_.end())); }

status audit_table::enable(device_entry e) {
  auto path = normalize_device_path(e.path);
  if (!path) return std::move(path).err();
  e.path = std::move(*path);
  std::lock_guard lock(mu_);
  for (const auto& d : devices_) {
    const std::string& p = d->entry().path;
    if (p.rfind(e.path, 0) == 0 || e.path.rfind(p, 0) == 0) return bad("path already in use");
  }
  if (auto o = parse_options(e, policy_); !o) return std::move(o).err();
  e.uuid = random_uuid();
  const std::string salt_value = random_uuid();
  auto made = make_device(e, secret(salt_value), policy_);
  if (!made) return std::move(made).err();
  if (auto s = record_test_message(**made, broker_.now()); !s) return s;
  std::vector<device_entry> rows;
  for (const auto& d : devices_) rows.push_back(d->entry());
  rows.push_back(e);
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::put(salt_key(e.uuid), salt_value));
  if (auto s = persist(std::move(ops), rows); !s) return s;
  devices_.push_back(std::move(*made));
  std::sort(devices_.begin(), devices_.end(), [](const auto& a, const auto& b) { return a->entry().path < b->entry().path; });
  publish();
  spdlog::info("enabled audit device {} (type {})", e.path, e.type);
  return ok_v;
}

status audit_table::disable(const std::string& raw_path) {
  auto path = normalize_device_path(raw_path);
  if (!path) return std::move(path).err();
  std::lock_guard lock(mu_);
  const auto it = std::find_if(devices_.begin(), devices_.end(), [&](const auto& d) { return d->entry().path == *path; });
  if (it == devices_.end()) return ok_v;
  std::vector<device_entry> rows;
  for (const auto& d : devices_) {
    if (d != *it) rows.push_back(d->entry());
  }
  std::vector<storage::operation> ops;
  ops.push_back(storage::operation::remove(salt_key((*it)->entry().uuid)));
  if (auto s = persist(std::move(ops), rows); !s) return s;
  devices_.erase(it);
  publish();
  spdlog::info("disabled audit device {}", *path);
  return ok_v;
}

result<std::string> audit_table::hash(const std::string& raw_path, std::string_view input) const {
  auto path = normalize_device_path(raw_path);
  if (!path) return std::move(path).err();
  std::lock_guard lock(mu_);
  for (const auto& d : devices_) {
    if (d->entry().path == *path) return d->hash(input);
  }
  return bad("unknown audit backend \"" + *path + "\"");
}

result<std::vector<device_entry>> audit_table::read_rows() const {
  auto raw = store_.get(table_key);
  if (!raw) return std::move(raw).err();
  if (!raw->has_value()) return std::vector<device_entry>{};
  return parse_table(**raw);
}

status audit_table::load() {
  std::lock_guard lock(mu_);
  devices_.clear();
  auto rows = read_rows();
  if (!rows) {
    spdlog::error("the audit table cannot be read ({}): every request is refused until it is repaired",
                  rows.err().message);
    devices_.push_back(placeholder({"(audit table)/", "file", "", {}, false, ""}, "the audit table cannot be read"));
    publish();
    return std::move(rows).err();
  }
  for (auto& e : *rows) {
    auto salt_value = store_.get(salt_key(e.uuid));
    if (!salt_value || !salt_value->has_value()) {
      spdlog::error("audit device {}: its salt is missing or unreadable; it records nothing", e.path);
      devices_.push_back(placeholder(e, "the device's salt is missing or unreadable"));
      continue;
    }
    auto made = make_device(e, secret(std::move(**salt_value)), policy_, true);
    if (!made) {
      spdlog::error("audit device {} cannot be opened ({}); it records nothing until it is disabled", e.path,
                    made.err().message);
      devices_.push_back(placeholder(e, made.err().message));
      continue;
    }
    devices_.push_back(std::move(*made));
  }
  std::sort(devices_.begin(), devices_.end(), [](const auto& a, const auto& b) { return a->entry().path < b->entry().path; });
  publish();
  if (!devices_.empty()) spdlog::info("{} audit device(s) enabled", devices_.size());
  return ok_v;
}

void audit_table::unload() {
  std::lock_guard lock(mu_);
  devices_.clear();
  publish();
}

void audit_table::reopen() {
  std::lock_guard lock(mu_);
  for (const auto& d : devices_) {
    if (auto s = d->sink().reopen(); !s) {
      spdlog::error("audit device {} could not be reopened: {}", d->entry().path, s.err().message);
    }
  }
  if (!devices_.empty()) spdlog::info("audit devices reopened");
}

}  // namespace credbroker::audit
