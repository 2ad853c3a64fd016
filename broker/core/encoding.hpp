#pragma once
// Hex and base64 (standard alphabet, padded), the forms Vault prints keys in.
#include <optional>
#include <string>
#include <string_view>

namespace credbroker {

std::string hex_encode(std::string_view raw);                     // lowercase
std::optional<std::string> hex_decode(std::string_view text);     // either case; nullopt if not hex
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);  // nullopt if not padded base64

}  // namespace credbroker
