#include "broker/core/cidr.hpp"

#include <boost/system/error_code.hpp>

namespace credbroker {
namespace {

namespace ip = boost::asio::ip;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

std::optional<ip::address> parse_ip_address(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty()) return std::nullopt;
  boost::system::error_code ec;
  const auto a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return unmapped(a);
}

std::optional<cidr_block> cidr_block::parse(std::string_view text, bool allow_bare_address) {
  text = trim(text);
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (!allow_bare_address) return std::nullopt;
    auto a = parse_ip_address(text);
    if (!a) return std::nullopt;
    cidr_block b;
    b.v4_ = a->is_v4();
    if (b.v4_) {
      b.net4_ = ip::network_v4(a->to_v4(), 32);
    } else {
      b.net6_ = ip::network_v6(a->to_v6(), 128);
    }
    return b;
  }
  const std::string_view prefix = text.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 3) return std::nullopt;
  for (char c : prefix) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  boost::system::error_code ec;
  const auto a = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return std::nullopt;
  const int bits = std::stoi(std::string(prefix));
  cidr_block b;
  b.v4_ = a.is_v4();
  if (b.v4_) {
    if (bits > 32) return std::nullopt;
    b.net4_ = ip::network_v4(a.to_v4(), static_cast<unsigned short>(bits)).canonical();
  } else {
    if (bits > 128) return std::nullopt;
    b.net6_ = ip::network_v6(a.to_v6(), static_cast<unsigned short>(bits)).canonical();
  }
  return b;
}

bool cidr_block::contains(const ip::address& raw) const {
  const ip::address a = unmapped(raw);
  if (a.is_v4() != v4_) return false;
  if (v4_) return ip::network_v4(a.to_v4(), net4_.prefix_length()).canonical() == net4_;
  return ip::network_v6(a.to_v6(), net6_.prefix_length()).canonical() == net6_;
}

bool cidr_block::covers(const cidr_block& inner) const {
  if (inner.v4_ != v4_) return false;
  if (v4_) return inner.net4_.prefix_length() >= net4_.prefix_length() && contains(ip::address(inner.net4_.network()));
  return inner.net6_.prefix_length() >= net6_.prefix_length() && contains(ip::address(inner.net6_.network()));
}

std::string cidr_block::to_string() const { return v4_ ? net4_.to_string() : net6_.to_string(); }

result<std::vector<cidr_block>> parse_cidr_list(const std::vector<std::string>& entries, bool allow_bare_address) {
  std::vector<cidr_block> out;
  for (const auto& e : entries) {
    if (trim(e).empty()) continue;
    auto b = cidr_block::parse(e, allow_bare_address);
    if (!b) return make_error(errc::invalid_request, "invalid CIDR address: " + std::string(trim(e)));
    out.push_back(*b);
  }
  return out;
}

bool address_in_blocks(std::string_view address, const std::vector<cidr_block>& blocks) {
  const auto a = parse_ip_address(address);
  if (!a) return false;
  for (const auto& b : blocks) {
    if (b.contains(*a)) return true;
  }
  return false;
}

bool address_in_cidrs(std::string_view address, const std::vector<std::string>& cidrs) {
  std::vector<cidr_block> blocks;
  for (const auto& c : cidrs) {
    if (auto b = cidr_block::parse(c, true)) blocks.push_back(*b);
  }
  return address_in_blocks(address, blocks);
}

bool cidrs_subset(const std::vector<std::string>& inner, const std::vector<std::string>& outer) {
  std::vector<cidr_block> outs;
  for (const auto& c : outer) {
    if (auto b = cidr_block::parse(c, true)) outs.push_back(*b);
  }
  if (outs.empty()) return true;
  for (const auto& c : inner) {
    if (trim(c).empty()) continue;
    const auto in = cidr_block::parse(c, true);
    if (!in) return false;
    bool found = false;
    for (const auto& o : outs) found = found || o.covers(*in);
    if (!found) return false;
  }
  return true;
}

}  // namespace credbroker
