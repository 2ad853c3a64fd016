#include "broker/storage/postgresql_backend.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace credbroker::storage {
namespace {

constexpr unsigned bytea_oid = 17;
const std::vector<postgresql_session::setting> session_settings = {{"statement_timeout", "60s"}};

// The smallest string greater than every string with this prefix, or "" if there is none.
std::string prefix_upper_bound(std::string p) {
  while (!p.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(p.back());
    if (c != 0xff) {
      ++c;
      return p;
    }
    p.pop_back();
  }
  return {};
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// PostgreSQL's binary array format (array_recv) for a one-dimensional bytea[] without NULLs.
pqxx::binarystring bytea_array(const std::vector<std::string_view>& items) {
  std::size_t size = 20;
  for (auto v : items) size += 4 + v.size();
  std::string out;
  out.reserve(size);
  put_be32(out, items.empty() ? 0 : 1);  // dimensions
  put_be32(out, 0);                      // no NULLs
  put_be32(out, bytea_oid);
  if (!items.empty()) {
    put_be32(out, static_cast<std::uint32_t>(items.size()));
    put_be32(out, 1);  // lower bound
    for (auto v : items) {
      put_be32(out, static_cast<std::uint32_t>(v.size()));
      out.append(v);
    }
  }
  return pqxx::binarystring(out);
}

pqxx::binarystring bytes(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

// "[schema.]table" -> quoted SQL, each part quoted by the driver.
result<std::string> quote_table(pqxx::connection& c, const std::string& name, const char* key) {
  const auto dot = name.find('.');
  std::vector<std::string> parts;
  if (dot == std::string::npos) {
    parts.push_back(name);
  } else {
    parts.push_back(name.substr(0, dot));
    parts.push_back(name.substr(dot + 1));
  }
  std::string out;
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 63 || p.find('\0') != std::string::npos || p.find('.') != std::string::npos) {
      return make_error(errc::invalid_request, std::string(key) +
                                                   ": expected a table name or schema.table (each part 1 to 63 "
                                                   "bytes), got \"" + name + "\"");
    }
    out += (out.empty() ? "" : ".") + c.quote_name(p);
  }
  return out;
}

}  // namespace

// The net effect of a batch: the last operation on each key.
struct postgresql_backend::collapsed {
  std::vector<std::string_view> removes, put_keys, put_values;
  std::size_t ops = 0;

  explicit collapsed(const std::vector<group_commit::item>& items) {
    std::unordered_map<std::string_view, const operation*> last;
    std::vector<std::string_view> order;
    for (const auto& item : items) {
      for (const auto& op : *item.ops) {
        ++ops;
        auto [it, fresh] = last.try_emplace(op.key, &op);
        if (fresh) {
          order.push_back(op.key);
        } else {
          it->second = &op;
        }
      }
    }
    for (auto key : order) {
      const operation* op = last[key];
      if (op->k == operation::kind::remove) {
        removes.push_back(key);
      } else {
        put_keys.push_back(key);
        put_values.push_back(op->value);
      }
    }
  }
};

postgresql_backend::postgresql_backend(postgresql_options options, postgresql_target target)
    : options_(std::move(options)), target_(std::move(target)) {}

postgresql_backend::~postgresql_backend() {
  if (queue_) queue_->close();  // commits what is queued while the sessions still exist
}

result<std::unique_ptr<postgresql_backend>> postgresql_backend::open(const postgresql_options& options) {
  auto target = postgresql_target::parse(options.connection_url, options.connect_timeout_seconds);
  if (!target) return make_error(errc::invalid_request, "storage.postgresql.connection_url: " + target.err().message);
  std::unique_ptr<postgresql_backend> b(new postgresql_backend(options, std::move(*target)));
  auto session = b->open_session("storage writer");
  if (!session) return std::move(session).err();
  auto table = quote_table((*session)->conn(), options.table, "storage.postgresql.table");
  if (!table) return std::move(table).err();
  b->table_sql_ = std::move(*table);
  auto ha_table = quote_table((*session)->conn(), options.ha_table, "storage.postgresql.ha_table");
  if (!ha_table) return std::move(ha_table).err();
  b->ha_table_sql_ = std::move(*ha_table);
  b->writer_ = std::move(*session);
  if (auto s = b->create_schema(); !s) return std::move(s).err();
  b->prepare_writer(b->writer_->conn());
  if (options.ha_enabled) b->writer_.reset();  // HA: writes go through the leadership's session only
  b->queue_ = std::make_unique<group_commit>(options.batching,
                                             [p = b.get()](std::vector<group_commit::item>& batch) { p->commit(batch); });
  return b;
}

result<std::unique_ptr<postgresql_session>> postgresql_backend::open_session(const std::string& purpose) {
  return postgresql_session::open(target_, purpose, session_settings);
}

status postgresql_backend::create_schema() {
  std::lock_guard lock(writer_->mu());
  const std::string what = "cannot prepare the storage table " + options_.table;
  if (auto s = create_table_once(*writer_, table_sql_, "key bytea PRIMARY KEY, value bytea NOT NULL", what); !s) return s;
  auto shape = writer_->run(what, [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto r = tx.exec("SELECT key, value FROM " + table_sql_ + " LIMIT 0");
    return r.column_type(0) == bytea_oid && r.column_type(1) == bytea_oid;
  });
  if (!shape) return std::move(shape).err();
  if (!*shape) {
    return target_.failure(what, "the table exists but its columns key and value are not bytea: it is not a "
                                 "credbroker storage table (choose another storage.postgresql.table)");
  }
  return ok_v;
}

// One batch, one statement: the removes, then the puts (disjoint key sets after collapsing).
void postgresql_backend::prepare_writer(pqxx::connection& c) const {
  const std::string& t = table_sql_;
  c.prepare("cb_write", "WITH d AS (DELETE FROM " + t + " WHERE key = ANY($1::bytea[])), i AS (INSERT INTO " + t +
                            " (key, value) SELECT k, v FROM unnest($2::bytea[], $3::bytea[]) AS u(k, v)"
                            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value) SELECT true");
}

void postgresql_backend::prepare_reader(pqxx::connection& c) const {
  const std::string& t = table_sql_;
  c.prepare("cb_get", "SELECT value FROM " + t + " WHERE key = $1::bytea");
  // One row per child of the prefix: from each child jump past it (past "name/" for a folder: '/'
  // + 1 is '0'; past "name" for a leaf: its successor name || 0x00). $2 is the prefix's length.
  const std::string next_child =
      "(SELECT key FROM " + t +
      " WHERE key >= (CASE WHEN position('\\x2f'::bytea IN substring(w.k FROM $2::int + 1)) > 0"
      " THEN substring(w.k FOR $2::int + position('\\x2f'::bytea IN substring(w.k FROM $2::int + 1)) - 1)"
      " || '\\x30'::bytea ELSE w.k || '\\x00'::bytea END)";
  for (const bool bounded : {true, false}) {
    const std::string bound = bounded ? " AND key < $3::bytea" : "";
    c.prepare(bounded ? "cb_list_range" : "cb_list_from",
              "WITH RECURSIVE walk(k) AS ((SELECT key FROM " + t + " WHERE key >= $1::bytea" + bound +
                  " ORDER BY key LIMIT 1) UNION ALL SELECT " + next_child + bound +
                  " ORDER BY key LIMIT 1) FROM walk w WHERE w.k IS NOT NULL) SELECT k FROM walk WHERE k IS NOT NULL");
  }
}

result<std::unique_ptr<postgresql_session>> postgresql_backend::acquire_reader() {
  const unsigned cap = std::max(1u, options_.max_parallel > 1 ? options_.max_parallel - 1 : 1u);
  {
    std::unique_lock lock(pool_mu_);
    pool_cv_.wait(lock, [&] { return !idle_.empty() || open_readers_ < cap; });
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
    ++open_readers_;
  }
  auto s = open_session("storage reader");
  if (!s) {
    std::lock_guard lock(pool_mu_);
    --open_readers_;
    pool_cv_.notify_one();
    return std::move(s).err();
  }
  prepare_reader((*s)->conn());
  return s;
}

void postgresql_backend::release_reader(std::unique_ptr<postgresql_session> s) {
  std::lock_guard lock(pool_mu_);
  if (s->broken()) {
    --open_readers_;
  } else {
    idle_.push_back(std::move(s));
  }
  pool_cv_.notify_one();
}

unsigned postgresql_backend::open_readers() const {
  std::lock_guard lock(pool_mu_);
  return open_readers_;
}

template <class F>
auto postgresql_backend::with_reader(const std::string& what, F&& f)
    -> result<decltype(f(std::declval<pqxx::connection&>()))> {
  for (int attempt = 0;; ++attempt) {
    auto s = acquire_reader();
    if (!s) return std::move(s).err();
    auto r = [&] {
      std::lock_guard lock((*s)->mu());
      return (*s)->run(what, f);
    }();
    const bool lost = (*s)->broken();
    release_reader(std::move(*s));
    if (r || !lost || attempt == 1) return r;  // a read is safe to retry once on a fresh session
  }
}

result<std::optional<std::string>> postgresql_backend::get(const std::string& key) {
  auto r = with_reader("storage read failed for \"" + key + "\"", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto rows = tx.exec_prepared("cb_get", bytes(key));
    if (rows.empty()) return std::optional<std::string>{};
    return std::optional<std::string>{pqxx::binarystring(rows[0][0]).str()};
  });
  return r;
}

result<std::vector<std::string>> postgresql_backend::list(const std::string& prefix) {
  const std::string upper = prefix_upper_bound(prefix);
  auto keys = with_reader("storage list failed for \"" + prefix + "\"", [&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    const auto len = static_cast<int>(prefix.size());
    auto rows = upper.empty() ? tx.exec_prepared("cb_list_from", bytes(prefix), len)
                              : tx.exec_prepared("cb_list_range", bytes(prefix), len, bytes(upper));
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(pqxx::binarystring(row[0]).str());
    return out;
  });
  if (!keys) return std::move(keys).err();
  return children_of(prefix, *keys);
}

status postgresql_backend::scan(const std::string& prefix,
                                const std::function<bool(const std::string&, std::string_view)>& visit) {
  // A session of its own: a long scan must not hold a pooled reader.
  auto s = open_session("storage scan");
  if (!s) return std::move(s).err();
  const std::string upper = prefix_upper_bound(prefix);
  std::lock_guard lock((*s)->mu());
  auto r = (*s)->run("storage scan failed for \"" + prefix + "\"", [&](pqxx::connection& c) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(c);
    const std::string declare = "DECLARE cb_scan BINARY NO SCROLL CURSOR FOR SELECT key, value FROM " + table_sql_ +
                                " WHERE key >= $1::bytea" + (upper.empty() ? "" : " AND key < $2::bytea") +
                                " ORDER BY key";
    if (upper.empty()) {
      tx.exec_params(declare, bytes(prefix));
    } else {
      tx.exec_params(declare, bytes(prefix), bytes(upper));
    }
    std::string key;
    for (;;) {
      auto rows = tx.exec("FETCH FORWARD 1000 FROM cb_scan");
      if (rows.empty()) break;
      for (const auto& row : rows) {
        key.assign(row[0].c_str(), row[0].size());
        if (!visit(key, std::string_view(row[1].c_str(), row[1].size()))) return true;
      }
    }
    return true;
  });
  if (!r) return std::move(r).err();
  return ok_v;
}

status postgresql_backend::apply(std::vector<operation> ops) { return queue_->apply(std::move(ops)); }

void postgresql_backend::apply_lazy(std::vector<operation> ops) { queue_->apply_lazy(std::move(ops)); }

void postgresql_backend::attach_writer(std::shared_ptr<postgresql_session> session, std::uint64_t epoch,
                                       std::function<void(const std::string&)> on_lost) {
  {
    std::lock_guard lock(session->mu());
    const std::string& t = table_sql_;
    session->conn().prepare(
        "cb_write_fenced",
        "WITH fence AS (SELECT 1 FROM " + ha_table_sql_ +
            " WHERE name = $4 AND epoch = $5::bigint AND lock_pid = pg_backend_pid()),"
            " d AS (DELETE FROM " + t + " WHERE key = ANY($1::bytea[]) AND EXISTS (SELECT 1 FROM fence)),"
            " i AS (INSERT INTO " + t + " (key, value) SELECT k, v FROM unnest($2::bytea[], $3::bytea[]) AS u(k, v)"
            " WHERE EXISTS (SELECT 1 FROM fence) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value)"
            " SELECT EXISTS (SELECT 1 FROM fence)");
  }
  std::lock_guard lock(attached_mu_);
  attached_ = {std::move(session), epoch, std::move(on_lost)};
}

void postgresql_backend::detach_writer() {
  std::lock_guard lock(attached_mu_);
  attached_ = {};
}

void postgresql_backend::commit(std::vector<group_commit::item>& batch) {
  const std::string& first = batch.front().ops->front().key;
  auto [how, result] = write(collapsed(batch), first);
  if (how == outcome::ok) {
    for (auto& item : batch) item.result = ok_v;
    return;
  }
  if (how != outcome::not_stored || batch.size() == 1) {
    for (auto& item : batch) item.result = result;
    return;
  }
  // The server refused the batch (nothing was stored): each write alone, so one bad write does not
  // fail its neighbours and each caller learns its own result.
  for (auto& item : batch) {
    std::vector<group_commit::item> one;
    one.emplace_back(item.ops);
    item.result = write(collapsed(one), item.ops->front().key).second;
  }
}

std::pair<postgresql_backend::outcome, status> postgresql_backend::write(const collapsed& c, const std::string& first_key) {
  auto r = options_.ha_enabled ? write_fenced(c, first_key) : write_unfenced(c, first_key);
  if (r.first == outcome::ok) {
    commits_.fetch_add(1, std::memory_order_relaxed);
    committed_writes_.fetch_add(c.ops, std::memory_order_relaxed);
  }
  return r;
}

std::pair<postgresql_backend::outcome, status> postgresql_backend::write_unfenced(const collapsed& c,
                                                                                  const std::string& first_key) {
  const std::string what = "storage write failed for \"" + first_key + "\"";
  const auto removes = bytea_array(c.removes), keys = bytea_array(c.put_keys), values = bytea_array(c.put_values);
  std::optional<error> lost;  // the first attempt's connection dropped after the batch was sent
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!writer_ || writer_->broken()) {
      auto s = open_session("storage writer");
      if (!s) {
        if (!lost) return {outcome::not_stored, std::move(s).err()};
        break;
      }
      writer_ = std::move(*s);
      std::lock_guard lock(writer_->mu());
      prepare_writer(writer_->conn());
    }
    std::lock_guard lock(writer_->mu());
    auto r = writer_->run(what, [&](pqxx::connection& conn) {
      pqxx::nontransaction tx(conn);
      tx.exec_prepared("cb_write", removes, keys, values);
      return true;
    });
    if (r) {
      if (lost) spdlog::warn("storage: the batch of \"{}\" was sent again after a lost connection and is stored", first_key);
      return {outcome::ok, ok_v};
    }
    if (!writer_->broken()) return {outcome::not_stored, std::move(r).err()};
    if (!lost) lost = std::move(r).err();
  }
  return {outcome::unknown,
          target_.failure(what, "the connection was lost while committing and the batch could not be sent again, so "
                                "it may or may not have been stored: " + lost->message)};
}

std::pair<postgresql_backend::outcome, status> postgresql_backend::write_fenced(const collapsed& c,
                                                                                const std::string& first_key) {
  const std::string what = "storage write failed for \"" + first_key + "\"";
  attached a;
  {
    std::lock_guard lock(attached_mu_);
    a = attached_;
  }
  if (!a.session) {
    return {outcome::not_stored,
            target_.failure(what, "this node does not hold the leadership (standby): only the active node writes")};
  }
  std::pair<outcome, status> out{outcome::ok, ok_v};
  std::string lost_reason;
  {
    std::lock_guard lock(a.session->mu());
    auto r = a.session->run(what, [&](pqxx::connection& conn) {
      pqxx::nontransaction tx(conn);
      auto rows = tx.exec_prepared("cb_write_fenced", bytea_array(c.removes), bytea_array(c.put_keys),
                                   bytea_array(c.put_values), options_.table, std::to_string(a.epoch));
      return rows[0][0].as<bool>();
    });
    if (r && !*r) {
      lost_reason = "fenced: the leadership of epoch " + std::to_string(a.epoch) + " is no longer this node's";
      out = {outcome::not_stored, target_.failure(what, lost_reason + "; nothing was written")};
    } else if (!r && a.session->broken()) {
      lost_reason = "the HA lock session was lost while committing";
      out = {outcome::unknown, target_.failure(what, "this node lost the leadership while committing, so the batch "
                                                     "may or may not have been stored: " + r.err().message)};
    } else if (!r) {
      out = {outcome::not_stored, std::move(r).err()};
    }
  }
  if (!lost_reason.empty()) {
    {
      std::lock_guard lock(attached_mu_);
      if (attached_.session == a.session) attached_ = {};
    }
    if (a.on_lost) a.on_lost(lost_reason);
  }
  return out;
}

}  // namespace credbroker::storage
