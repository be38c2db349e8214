// organic-bench's workload, out-of-line parts: the zeta function behind ZipfGenerator and
// ValueFor, the value every key gets.
#include "workload.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

namespace organic::bench {

// zeta(n, theta) = sum_{i=1..n} 1 / i^theta.
//
// The first kExactTerms terms are summed directly; the tail i = m..n uses the Euler-Maclaurin
// formula for f(x) = x^-theta:
//   sum_{i=m..n} f(i) = integral_m^n f + (f(m) + f(n)) / 2 + (f'(n) - f'(m)) / 12
//                       - (f'''(n) - f'''(m)) / 720 + R,
// where |R| is below |f^(5)(m)| / 30240 ~ 4e-18 at m = 1024. So zeta(10^8) costs ~1000 pow() calls
// instead of 10^8 (~2 s) and matches the direct sum to double rounding (--dump-distribution
// prints the comparison for N <= 2*10^7).
double Zeta(uint64_t n, double theta) {
  constexpr uint64_t kExactTerms = 1024;
  double sum = 0;
  const uint64_t exact = std::min(n, kExactTerms - 1);
  for (uint64_t i = 1; i <= exact; i++) sum += std::pow(static_cast<double>(i), -theta);
  if (n < kExactTerms) return sum;
  const double m = kExactTerms;
  const double x = static_cast<double>(n);
  auto f = [&](double v) { return std::pow(v, -theta); };
  auto f1 = [&](double v) { return -theta * std::pow(v, -theta - 1); };
  auto f3 = [&](double v) { return -theta * (theta + 1) * (theta + 2) * std::pow(v, -theta - 3); };
  const double integral = (std::pow(x, 1 - theta) - std::pow(m, 1 - theta)) / (1 - theta);
  return sum + integral + (f(m) + f(x)) / 2 + (f1(x) - f1(m)) / 12 - (f3(x) - f3(m)) / 720;
}

// The value for key `index`: "<index>:" and then filler from a PRNG seeded with the index, cut
// to `size` bytes. Every key's value differs, so --verify also catches a value served for the
// wrong key, and the decimal head names the key it came from. The filler is random letters of a
// 64-letter alphabet: printable, 6 bits of entropy per byte, so compression can save at most
// about a quarter of it (a benchmark should not flatter a compressing engine). ValueKind::kRandom
// fills with whole random bytes instead: nothing to compress at all.
void ValueFor(uint64_t index, size_t size, ValueKind kind, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  out->assign(std::to_string(index));
  out->push_back(':');
  size_t pos = std::min(out->size(), size);
  out->resize(size);
  Rng rng(index);
  while (pos < size) {
    uint64_t bits = rng.Next();
    if (kind == ValueKind::kRandom) {
      for (int k = 0; k < 8 && pos < size; k++, bits >>= 8) {
        (*out)[pos++] = static_cast<char>(bits & 0xff);
      }
    } else {
      for (int k = 0; k < 10 && pos < size; k++, bits >>= 6) (*out)[pos++] = kAlphabet[bits & 63];
    }
  }
}

}  // namespace organic::bench
