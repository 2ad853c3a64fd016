// sys/leases/* and the legacy sys/renew, sys/revoke, sys/revoke-prefix, sys/revoke-force
// (vault-api.md §3.3).
#include <chrono>

#include "api/sys_routes.hpp"
#include "broker/core/duration.hpp"

namespace credbroker::api {
namespace {

using leases::lease_manager;


std::string lease_id_of(const request& req, const field_data& fd) {
  // The body wins over the URL, as in Vault.
  if (auto b = fd.get_string("lease_id"); b && !b->empty()) return *b;
  if (auto it = req.captures.find("url_lease_id"); it != req.captures.end()) return it->second;
  return {};
}

route make(std::string pattern, std::vector<field_spec> fields) {
  route r;
  r.pattern = std::move(pattern);
  r.fields = std::move(fields);
  return r;
}

}  // namespace

std::vector<route> sys_lease_routes(lease_manager& m, const clock& clk) {
  std::vector<route> out;

  // lookup
  route lookup = make("leases/lookup", {{"lease_id", field_type::string}});
  lookup.operations[operation::update] = [&m, &clk](request& req, const field_data& fd) {
    const std::string id = lease_id_of(req, fd);
    if (id.empty()) return reply::fail(400, "lease_id must be specified");
    auto l = m.lookup(id);
    if (!l) {
      if (l.err().code == make_error_code(errc::lease_not_found)) return reply::fail(400, "invalid lease");
      return reply::fail(l.err());
    }
    const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(l->expire_time - clk.now()).count();
    nlohmann::json data = {
        {"id", l->id},
        {"issue_time", format_rfc3339_nano(l->issue_time)},
        {"expire_time", format_rfc3339_nano(l->expire_time)},
        {"last_renewal", l->last_renewal == time_point{} ? nlohmann::json(nullptr) : nlohmann::json(format_rfc3339_nano(l->last_renewal))},
        {"renewable", l->renewable},
        {"ttl", ttl < 0 ? 0 : ttl},
        // Beyond Vault's fields (clients ignore them): where the lease stands, and why a revocation
        // is still being retried (a database down, a Redis replica that kept the user, ...).
        {"state", leases::to_string(l->state)},
    };
    if (!l->last_error.empty()) {
      data["revoke_error"] = l->last_error;  // OpenBao's name
      data["revoke_attempts"] = l->attempts;
      data["next_revoke_attempt"] = format_rfc3339_nano(l->next_attempt);
    }
    return reply::with_data(std::move(data));
  };
  out.push_back(std::move(lookup));

  route lookup_list = make("leases/lookup/*prefix", {{"prefix", field_type::string}});
  lookup_list.sudo = true;
  lookup_list.operations[operation::list] = [&m](request& req, const field_data&) {
    auto keys = m.list(req.captures.at("prefix"));
    if (!keys) return reply::fail(keys.err());
    return reply::with_data({{"keys", *keys}});
  };
  out.push_back(std::move(lookup_list));

  // renew (+ legacy sys/renew)
  auto renew_handler = [&m](request& req, const field_data& fd) {
    const std::string id = lease_id_of(req, fd);
    if (id.empty()) return reply::fail(400, "lease_id must be specified");
    auto r = m.renew(id, fd.get_duration("increment").value_or(std::chrono::seconds{0}));
    if (!r) return reply::fail(r.err());
    reply renewed = reply::with_data(nullptr);
    renewed.lease_id = r->l.id;
    renewed.renewable = r->l.renewable;
    renewed.lease_duration = r->ttl.count();
    renewed.warnings = r->warnings;
    return renewed;
  };
  for (const char* p : {"leases/renew", "leases/renew/*url_lease_id", "renew", "renew/*url_lease_id"}) {
    route r = make(p, {{"lease_id", field_type::string}, {"url_lease_id", field_type::string},
                       {"increment", field_type::duration}});
    r.operations[operation::update] = renew_handler;
    out.push_back(std::move(r));
  }

  // revoke (+ legacy sys/revoke): sync defaults to true -> 204; sync=false -> 202.
  auto revoke_handler = [&m](request& req, const field_data& fd) {
    const std::string id = lease_id_of(req, fd);
    if (id.empty()) return reply::fail(400, "lease_id must be specified");
    if (!fd.get_bool("sync").value_or(true)) {
      (void)m.expire_now(id);
      return reply::raw_status(202);
    }
    if (auto s = m.revoke(id); !s) return reply::fail(400, "failed to revoke lease: " + s.err().message);
    return reply::empty();
  };
  for (const char* p : {"leases/revoke", "leases/revoke/*url_lease_id", "revoke", "revoke/*url_lease_id"}) {
    route r = make(p, {{"lease_id", field_type::string}, {"url_lease_id", field_type::string},
                       {"sync", field_type::boolean, true}});
    r.operations[operation::update] = revoke_handler;
    out.push_back(std::move(r));
  }

  // revoke-prefix (sudo; node-vault uses the legacy path) and revoke-force (sudo).
  auto prefix_handler = [&m](request& req, const field_data& fd) {
    const std::string prefix = req.captures.at("prefix");
    if (!fd.get_bool("sync").value_or(true)) {
      (void)m.expire_prefix_now(prefix);
      return reply::raw_status(202);
    }
    if (auto s = m.revoke_prefix(prefix); !s) return reply::fail(400, "failed to revoke prefix: " + s.err().message);
    return reply::empty();
  };
  auto force_handler = [&m](request& req, const field_data&) {
    if (auto s = m.revoke_force(req.captures.at("prefix")); !s) return reply::fail(s.err());
    return reply::empty();
  };
  for (const char* base : {"leases/", ""}) {
    route p = make(std::string(base) + "revoke-prefix/*prefix",
                   {{"prefix", field_type::string}, {"sync", field_type::boolean, true}, {"path_prefix", field_type::string}});
    p.sudo = true;
    p.operations[operation::update] = prefix_handler;
    out.push_back(std::move(p));
    route f = make(std::string(base) + "revoke-force/*prefix", {{"prefix", field_type::string}});
    f.sudo = true;
    f.operations[operation::update] = force_handler;
    out.push_back(std::move(f));
  }

  // tidy: nothing to tidy in our index (restore() reports unreadable records); answer as Vault does.
  route tidy = make("leases/tidy", {});
  tidy.sudo = true;
  tidy.operations[operation::update] = [](request&, const field_data&) {
    reply r = reply::with_data(nullptr);
    r.status = 202;
    r.warnings.push_back("Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs.");
    return r;
  };
  out.push_back(std::move(tidy));

  // count and list of irrevocable leases.
  auto check_type = [](const field_data& fd) -> std::optional<reply> {
    if (fd.get_string("type").value_or("") != "irrevocable") {
      return reply::fail(400, "the 'type' query parameter must be 'irrevocable'");
    }
    return std::nullopt;
  };
  route count = make("leases/count", {{"type", field_type::string}, {"include_child_namespaces", field_type::boolean}});
  count.sudo = true;
  count.operations[operation::read] = [&m, check_type](request&, const field_data& fd) {
    if (auto bad = check_type(fd)) return *bad;
    const auto n = m.irrevocable().size();
    return reply::with_data({{"lease_count", n}, {"counts", {{"root", n}}}});
  };
  out.push_back(std::move(count));
  route listing = make("leases", {{"type", field_type::string}, {"include_child_namespaces", field_type::boolean},
                                  {"limit", field_type::string}});
  listing.sudo = true;
  listing.operations[operation::read] = [&m, check_type](request&, const field_data& fd) {
    if (auto bad = check_type(fd)) return *bad;
    nlohmann::json items = nlohmann::json::array();
    for (const auto& l : m.irrevocable()) {
      items.push_back({{"lease_id", l.id}, {"namespace", "root"}, {"name", l.role},
                       {"expire_time", format_rfc3339_nano(l.expire_time)}, {"error", l.last_error},
                       {"attempts", l.attempts}});
    }
    return reply::with_data({{"leases", items}, {"lease_count", items.size()}});
  };
  out.push_back(std::move(listing));
  return out;
}

}  // namespace credbroker::api
