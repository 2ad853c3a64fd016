#include "broker/engine/issuance.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace credbroker::engine {
namespace {

using std::chrono::seconds;

constexpr seconds db_expiry_buffer{5};  // VALID UNTIL outlives the lease by this much

}  // namespace

issuance::issuance(connections& conns, role_store& roles, leases::lease_manager& leases, password_policies& passwords,
                   const clock& clk, std::string mount, std::function<leases::ttl_limits()> limits)
    : conns_(conns),
      roles_(roles),
      leases_(leases),
      passwords_(passwords),
      clock_(clk),
      mount_(std::move(mount)),
      limits_(std::move(limits)) {}

result<issued_creds> issuance::issue(const std::string& role_name, const caller_info& caller) {
  auto r = roles_.find(role_name);
  if (!r) return std::move(r).err();
  if (!*r) return make_error(errc::invalid_request, "unknown role: " + role_name);
  const role& ro = **r;
  auto config = conns_.must(ro.db_name);
  if (!config) return std::move(config).err();
  const connection_config* cfg = config->get();
  const bool allowed = std::any_of(cfg->allowed_roles.begin(), cfg->allowed_roles.end(),
                                   [&](const std::string& g) { return glob_match(g, role_name); });
  if (!allowed) return make_error(errc::role_not_allowed, "\"" + role_name + "\" is not an allowed role");
  if (ro.credential_type != "password") {
    return make_error(errc::invalid_request, "unsupported credential_type: \"" + ro.credential_type + "\"");
  }
  const time_point now = clock_.now();
  const time_point issued_at = std::chrono::floor<seconds>(now);
  auto ttl = leases::calculate_ttl(limits_(), seconds(0), ro.default_ttl, ro.max_ttl, issued_at, issued_at);
  if (!ttl) return std::move(ttl).err();
  auto inst = conns_.instance(ro.db_name);
  if (!inst) return std::move(inst).err();
  auto username = (*inst)->generate_username({caller.display_name, role_name});
  if (!username) return std::move(username).err();
  auto password = passwords_.generate_rated(role_password_policy(*cfg, ro.credential_config));
  if (!password) return std::move(password).err();

  const leases::lease l = pending_lease(ro, role_name, *username, now, ttl->ttl, caller);
  if (auto s = leases_.add(l); !s) return std::move(s).err();  // durable before the user exists
  if (auto s = create_and_activate(**inst, ro, l, *password); !s) return std::move(s).err();
  return issued_creds{l.id, l.username, std::move(password->password), ttl->ttl, std::move(ttl->warnings)};
}

leases::lease issuance::pending_lease(const role& ro, const std::string& role_name, const std::string& username,
                                      time_point now, seconds ttl, const caller_info& caller) const {
  const time_point issued_at = std::chrono::floor<seconds>(now);
  leases::lease l;
  l.id = mount_ + "creds/" + role_name + "/" + leases::new_lease_suffix(now);
  l.connection = ro.db_name;
  l.role = role_name;
  l.username = username;
  l.revocation_statements = ro.revocation_statements;
  l.renew_statements = ro.renew_statements;
  l.role_ttl = ro.default_ttl;
  l.role_max_ttl = ro.max_ttl;
  l.issue_time = issued_at;
  l.expire_time = issued_at + ttl;
  l.renewable = true;
  l.token_accessor = caller.token_accessor;
  l.state = leases::lease_state::pending;
  l.boot = conns_.boot();
  return l;
}

status issuance::create_and_activate(plugin::database_plugin& inst, const role& ro, const leases::lease& l,
                                     const generated_password& password) {
  plugin::new_user_request nu;
  nu.username = l.username;
  nu.statements = ro.creation_statements;
  nu.rollback_statements = ro.rollback_statements;
  nu.password = password.password;
  nu.password_entropy_bits = password.entropy_bits;
  nu.expiration = l.expire_time + db_expiry_buffer;
  // Nothing may be left when the answer is an error: delete (idempotent) before forgetting the lease;
  // if even that fails, the pending lease stays and is revoked at its expiry.
  auto roll_back = [&] {
    if (inst.delete_user({l.username, ro.revocation_statements})) {
      (void)leases_.forget(l.id);
    } else {
      spdlog::warn("issuance of {} failed and the database could not be checked; the pending lease stays and is revoked at its expiry", l.id);
      leases_.release(l.id);
    }
  };
  if (auto created = inst.new_user(nu); !created) {
    roll_back();  // one transaction: nothing should exist, but make sure
    return std::move(created).err();
  }
  leases::lease done = l;
  done.boot.clear();  // the user exists: nothing in doubt any more
  auto active = leases_.activate(done);
  if (!active) {
    roll_back();  // HA: this node lost the leadership meanwhile (lease_manager::activate)
    return std::move(active).err();
  }
  if (!*active) {
    roll_back();  // revoked (its token, its prefix) while the user was being created
    return make_error(errc::internal, "lease " + l.id + " was revoked while its credentials were being issued");
  }
  return ok_v;
}

status issuance::revoke(const leases::lease& l, const std::vector<std::string>& earlier_boots) {
  auto inst = conns_.instance(l.connection);
  if (!inst) return std::move(inst).err();
  // A lease still in doubt (pending, or a pending one whose revocation failed before) of an earlier
  // run: a DROP now could precede that run's CREATE still waiting in the database.
  if (l.state == leases::lease_state::pending || !l.boot.empty()) {
    if (auto e = conns_.end_sessions_of(l.connection, **inst, l.boot); !e) return e;
  }
  if (l.inherited) {
    // Unanswered (a node down): the revocation runs and reaches what it can, as for any lease.
    auto gone = revoked_before(l, **inst, earlier_boots);
    if (gone && *gone) {
      spdlog::info("lease {}: its user is gone already (revoked by an earlier broker process); its record is removed",
                   l.id);
      return ok_v;
    }
  }
  auto r = (*inst)->delete_user({l.username, l.revocation_statements});
  if (!r) return std::move(r).err();
  return ok_v;
}

result<bool> issuance::revoked_before(const leases::lease& l, plugin::database_plugin& inst,
                                      const std::vector<std::string>& earlier_boots) {
  for (const auto& boot : earlier_boots) {
    if (boot == l.boot) continue;  // ended above
    if (auto e = conns_.end_sessions_of(l.connection, inst, boot); !e) {
      // The revocation still runs: at worst twice, never not at all.
      spdlog::warn("lease {}: the sessions of an earlier broker process on \"{}\" could not be ended ({}); "
                   "if that process is still revoking it, its revocation statements may run twice",
                   l.id, l.connection, e.err().message);
    }
  }
  return inst.user_gone(l.username);
}

status issuance::renew(const leases::lease& l, time_point new_expire) {
  auto inst = conns_.instance(l.connection);
  if (!inst) return std::move(inst).err();
  plugin::update_user_request u;
  u.username = l.username;
  u.expiration = plugin::change_expiration{new_expire + db_expiry_buffer, l.renew_statements};
  auto r = (*inst)->update_user(u);
  if (!r) return std::move(r).err();
  return ok_v;
}

result<bool> issuance::resolve_pending(const leases::lease& l) {
  auto inst = conns_.instance(l.connection);
  if (!inst) return std::move(inst).err();
  if (auto e = conns_.end_sessions_of(l.connection, **inst, l.boot); !e) return std::move(e).err();
  auto exists = (*inst)->user_exists(l.username);
  if (!exists) return std::move(exists).err();
  if (*exists) {
    if (auto s = leases_.activate_stored(l.id); !s) return std::move(s).err();
    return true;
  }
  // Absent, or on some nodes only (cut half-way): its credentials were never handed out. Deleted
  // (idempotent) before the lease is forgotten, so no node keeps it.
  if (auto d = (*inst)->delete_user({l.username, l.revocation_statements}); !d) return std::move(d).err();
  if (auto s = leases_.forget(l.id); !s) return std::move(s).err();
  return false;
}

}  // namespace credbroker::engine
