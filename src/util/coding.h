// Byte encodings used by on-disk and in-memory formats: little-endian fixed-width integers and
// LEB128-style varints (7 bits per byte, high bit = more bytes follow), as in LevelDB.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace organic {

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  memcpy(buf, &v, 4);  // little-endian hosts only (x86-64, aarch64): checked in coding.cc
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  memcpy(buf, &v, 8);
  dst->append(buf, 8);
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

// Writes v as a varint at dst; returns the byte just past it. dst needs up to 10 bytes.
inline char* EncodeVarint64(char* dst, uint64_t v) {
  unsigned char* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}
inline void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  char* end = EncodeVarint64(buf, v);
  dst->append(buf, static_cast<size_t>(end - buf));
}
inline int VarintLength(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    len++;
  }
  return len;
}
// Decodes a varint from [p, limit); returns the byte after it, or nullptr if malformed.
inline const char* DecodeVarint64(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && p < limit; shift += 7) {
    uint64_t byte = static_cast<unsigned char>(*p++);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

// Length-prefixed string: varint length then bytes.
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s);
}

// A cursor over an encoded byte string for decoding; every Get* returns false on truncation.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : p_(in.data()), limit_(in.data() + in.size()) {}
  bool GetVarint(uint64_t* v) {
    const char* q = DecodeVarint64(p_, limit_, v);
    if (q == nullptr) return false;
    p_ = q;
    return true;
  }
  bool GetByte(uint8_t* b) {
    if (p_ >= limit_) return false;
    *b = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool GetLengthPrefixed(std::string_view* s) {
    uint64_t n;
    if (!GetVarint(&n) || n > static_cast<uint64_t>(limit_ - p_)) return false;
    *s = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool done() const { return p_ == limit_; }
  // What is left to decode.
  std::string_view rest() const { return std::string_view(p_, static_cast<size_t>(limit_ - p_)); }

 private:
  const char* p_;
  const char* limit_;
};

}  // namespace organic
