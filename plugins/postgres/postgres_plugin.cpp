#include "plugins/postgres/postgres_plugin.hpp"

#include <pqxx/pqxx>

#include "broker/plugin/sanitize.hpp"

namespace credbroker::plugins::postgres {
namespace {

result<std::string> string_field(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::string();
  if (!it->is_string()) return make_error(errc::invalid_request, std::string(key) + " must be a string");
  return it->get<std::string>();
}

result<std::int64_t> int_field(const nlohmann::json& cfg, const char* key, std::int64_t dflt) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return dflt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      std::size_t used = 0;
      const auto v = std::stoll(it->get<std::string>(), &used);
      if (used == it->get_ref<const std::string&>().size()) return v;
    } catch (const std::exception&) {
    }
  }
  return make_error(errc::invalid_request, std::string(key) + " must be an integer");
}

}  // namespace

result<plugin::initialize_response> postgres_plugin::initialize(plugin::initialize_request req) {
  if (!req.config.is_object()) return make_error(errc::invalid_request, "config must be a JSON object");
  connection_template t;
  auto url = string_field(req.config, "connection_url");
  if (!url) return std::move(url).err();
  if (url->empty()) return make_error(errc::invalid_request, "connection_url cannot be empty");
  auto user = string_field(req.config, "username");
  if (!user) return std::move(user).err();
  auto pass = string_field(req.config, "password");
  if (!pass) return std::move(pass).err();
  auto max_open = int_field(req.config, "max_open_connections", 4);
  if (!max_open) return std::move(max_open).err();
  if (*max_open < 1) return make_error(errc::invalid_request, "max_open_connections must be at least 1");
  auto timeout = int_field(req.config, "connect_timeout", 10);
  if (!timeout) return std::move(timeout).err();
  if (*timeout < 1) return make_error(errc::invalid_request, "connect_timeout must be at least 1 second");
  t.url = std::move(*url);
  t.username = std::move(*user);
  t.password = secret(std::move(*pass));
  t.connect_timeout_seconds = static_cast<int>(*timeout);
  if (auto it = req.config.find("disable_escaping"); it != req.config.end() && it->is_boolean()) {
    t.disable_escaping = it->get<bool>();
  }
  if (auto rendered = render_connection_string(t); !rendered) return std::move(rendered).err();

  plugin::initialize_response out{req.config};
  out.config["max_open_connections"] = *max_open;
  {
    std::lock_guard lock(mu_);
    conn_ = std::move(t);
    initialized_ = true;
  }
  if (req.verify_connection) {
    if (auto v = verify(); !v) {
      return make_error(errc::unavailable, "error verifying connection: " + v.err().message);
    }
  }
  return out;
}

result<plugin::verify_response> postgres_plugin::verify() {
  connection_template t;
  {
    std::lock_guard lock(mu_);
    if (!initialized_) return make_error(errc::internal, "plugin is not initialized");
    t = conn_;
  }
  auto conninfo = render_connection_string(t);
  if (!conninfo) return std::move(conninfo).err();
  try {
    pqxx::connection c{conninfo->reveal()};
    pqxx::nontransaction tx{c};
    const auto r = tx.exec1("SELECT 1");
    if (r[0].as<int>() != 1) return make_error(errc::unavailable, "unexpected answer to SELECT 1");
    return plugin::verify_response{};
  } catch (const std::exception& e) {
    return make_error(errc::unavailable, plugin::sanitize(e.what(), {&t.password, &*conninfo}));
  }
}

result<plugin::close_response> postgres_plugin::close() {
  std::lock_guard lock(mu_);
  initialized_ = false;
  conn_ = {};
  return plugin::close_response{};
}

}  // namespace credbroker::plugins::postgres
