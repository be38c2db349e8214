// RequestParser and SplitInlineArgs. Expected behaviour was taken from redis-server 7.0.15 over
// a raw socket (messages, skipped requests, unchecked CRLFs, NUL desync, 64 KiB line limits).
// Every stream is also fed whole, one byte at a time and in random splits, each piece in its
// own exactly-sized heap buffer so AddressSanitizer catches any read past a piece.
#include "protocol/request_parser.h"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

namespace organic::protocol {
namespace {

using Args = std::vector<std::string>;
using Result = RequestParser::Result;

std::string Mb(const Args& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

std::string Bytes(const char* s, size_t n) { return std::string(s, n); }

struct Outcome {
  std::vector<Args> commands;
  bool error = false;
  std::string error_message;
  size_t buffered = 0;  // buffered_bytes() after the last piece, when no error

  bool operator==(const Outcome& o) const {
    return commands == o.commands && error == o.error && error_message == o.error_message &&
           buffered == o.buffered;
  }
};

doctest::String Describe(const Outcome& o) {
  std::string s = std::to_string(o.commands.size()) + " commands";
  if (o.error) s += ", error '" + o.error_message + "'";
  s += ", buffered " + std::to_string(o.buffered);
  return doctest::String(s.c_str());
}

// Feeds input cut into pieces of the given sizes (the last piece takes the rest).
Outcome FeedPieces(RequestParser* parser, const std::string& input,
                   const std::vector<size_t>& sizes) {
  Outcome out;
  size_t offset = 0;
  size_t piece = 0;
  while (offset < input.size() && !out.error) {
    size_t n = piece < sizes.size() ? sizes[piece] : input.size() - offset;
    n = std::min(n, input.size() - offset);
    ++piece;
    // An exact-size heap copy: reading one byte too far is an ASan error.
    std::unique_ptr<char[]> buf(new char[n]);
    std::copy(input.data() + offset, input.data() + offset + n, buf.get());
    offset += n;
    size_t at = 0;
    while (at < n || n == 0) {
      size_t consumed = 12345;
      Result r = parser->Parse(buf.get() + at, n - at, &consumed);
      // Plain ifs, not REQUIREs: this runs millions of times in byte-at-a-time feeds.
      if (consumed > n - at) FAIL("consumed more than given: " << consumed);
      if (r == Result::kError) {
        out.error = true;
        out.error_message = parser->error();
        break;
      }
      if (r == Result::kNeedMore) {
        if (consumed != n - at) FAIL("kNeedMore must consume everything");
        break;
      }
      if (parser->argc() == 0) FAIL("kComplete with no arguments");
      Args args;
      for (size_t i = 0; i < parser->argc(); ++i) {
        if (&parser->arg(i) != parser->args() + i) FAIL("args() is not contiguous");
        args.push_back(parser->arg(i));
      }
      out.commands.push_back(args);
      at += consumed;
      if (at == n) break;
    }
  }
  if (!out.error) out.buffered = parser->buffered_bytes();
  return out;
}

Outcome FeedWith(const std::string& input, const std::vector<size_t>& sizes,
                 ParserLimits limits = {}, bool authenticated = true) {
  RequestParser parser(limits);
  parser.set_authenticated(authenticated);
  return FeedPieces(&parser, input, sizes);
}

// Feeds input whole, byte by byte and in random splits; all must agree. Returns the outcome.
Outcome FeedAllWays(const std::string& input, ParserLimits limits = {}, bool authenticated = true) {
  Outcome whole = FeedWith(input, {input.size()}, limits, authenticated);
  std::vector<size_t> ones(input.size(), 1);
  Outcome bytewise = FeedWith(input, ones, limits, authenticated);
  CHECK_MESSAGE(bytewise == whole,
                "byte at a time: " << Describe(bytewise) << " vs whole " << Describe(whole));
  std::mt19937 rng(static_cast<uint32_t>(input.size()) * 7919u + 17u);
  for (int round = 0; round < 12; ++round) {
    std::vector<size_t> sizes;
    size_t total = 0;
    const size_t max_piece = (round % 3 == 0) ? 3 : (round % 3 == 1 ? 17 : 400);
    while (total < input.size()) {
      size_t n = std::uniform_int_distribution<size_t>(0, max_piece)(rng);
      sizes.push_back(n);
      total += n;
    }
    Outcome split = FeedWith(input, sizes, limits, authenticated);
    CHECK_MESSAGE(split == whole, "random split round " << round << ": " << Describe(split)
                                                        << " vs whole " << Describe(whole));
  }
  return whole;
}

void ExpectCommands(const std::string& input, const std::vector<Args>& expected) {
  Outcome o = FeedAllWays(input);
  CHECK_FALSE(o.error);
  CHECK(o.error_message == "");
  CHECK(o.commands == expected);
  CHECK(o.buffered == 0);
}

// Expects the given commands, then a protocol error with exactly this message.
void ExpectError(const std::string& input, const std::string& message,
                 const std::vector<Args>& before = {}, ParserLimits limits = {},
                 bool authenticated = true) {
  Outcome o = FeedAllWays(input, limits, authenticated);
  CHECK(o.error);
  CHECK(o.error_message == message);
  CHECK(o.commands == before);
}

// Expects no command and no error: the parser is waiting for more bytes.
void ExpectWaiting(const std::string& input, ParserLimits limits = {}, bool authenticated = true) {
  Outcome o = FeedAllWays(input, limits, authenticated);
  CHECK_FALSE(o.error);
  CHECK(o.commands.empty());
}

TEST_CASE("RequestParser: multibulk commands") {
  ExpectCommands(Mb({"PING"}), {{"PING"}});
  ExpectCommands(Mb({"SET", "key", "value"}), {{"SET", "key", "value"}});
  ExpectCommands("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", {{"GET", ""}});  // empty bulk
  ExpectCommands(Mb({"", "", ""}), {{"", "", ""}});
  // Large counts and lengths written the way Redis reads them.
  ExpectCommands("*1\r\n$10\r\n0123456789\r\n", {{"0123456789"}});
}

TEST_CASE("RequestParser: binary-safe bulk arguments") {
  std::string binary = Bytes("a\0b\r\nc\r\n\n\r\0", 11);
  binary += "\xff\xfe*$";
  ExpectCommands(Mb({"SET", binary, Bytes("\0", 1)}), {{"SET", binary, Bytes("\0", 1)}});
  // A bulk made of what looks like protocol.
  std::string fake = Mb({"DEL", "x"}) + "\r\n*";
  ExpectCommands(Mb({"ECHO", fake}), {{"ECHO", fake}});
}

TEST_CASE("RequestParser: inline commands") {
  ExpectCommands("PING\r\n", {{"PING"}});
  ExpectCommands("PING\n", {{"PING"}});
  ExpectCommands("SET a b\r\n", {{"SET", "a", "b"}});
  ExpectCommands("  SET\t a   b  \r\n", {{"SET", "a", "b"}});
  ExpectCommands("SET k \"hello world\"\r\n", {{"SET", "k", "hello world"}});
  // Redis 7.0 keeps empty quoted words: 'ECHO ""' replies "$0".
  ExpectCommands("ECHO \"\"\r\n", {{"ECHO", ""}});
  ExpectCommands("ECHO \"\" ''\r\n", {{"ECHO", "", ""}});
  // Only one '\r' before '\n' is stripped; another one is a blank for the splitter.
  ExpectCommands("ECHO a\r\r\n", {{"ECHO", "a"}});
  ExpectCommands("ECHO a\rb\r\n", {{"ECHO", "a", "b"}});
  ExpectCommands("ECHO \"a\\x41\\n\"\r\n", {{"ECHO", "aA\n"}});
  // \v is not a word terminator outside quotes, but is a blank after a closing quote.
  ExpectCommands("ECHO a\vb\r\n", {{"ECHO", "a\vb"}});
  ExpectCommands("ECHO \"a\"\vb\r\n", {{"ECHO", "a", "b"}});
  // A line starting with '$' is inline, not a bulk.
  ExpectCommands("$3 x\r\n", {{"$3", "x"}});
}

TEST_CASE("RequestParser: blank requests are skipped silently") {
  ExpectCommands("\r\n", {});
  ExpectCommands("\n", {});
  ExpectCommands("\r\n\n   \r\n\t\r\nPING\r\n", {{"PING"}});
  ExpectCommands("*0\r\n", {});
  ExpectCommands("*-1\r\n", {});
  ExpectCommands("*0\r\n*-1\r\n*-10\r\n" + Mb({"PING"}) + "*0\r\nPING\n", {{"PING"}, {"PING"}});
}

TEST_CASE("RequestParser: pipelines") {
  std::string input;
  std::vector<Args> expected;
  for (int i = 0; i < 300; ++i) {
    std::string key = "key:" + std::to_string(i);
    std::string value(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    if (i % 5 == 0) {
      input += "GET " + key + "\r\n";
      expected.push_back({"GET", key});
    } else {
      input += Mb({"SET", key, value});
      expected.push_back({"SET", key, value});
    }
  }
  ExpectCommands(input, expected);
}

TEST_CASE("RequestParser: kComplete leaves the following bytes unconsumed") {
  RequestParser p;
  std::string input = Mb({"SET", "a", "b"}) + "PING\r\n" + Mb({"GET", "a"});
  size_t consumed = 0;
  REQUIRE(p.Parse(input.data(), input.size(), &consumed) == Result::kComplete);
  CHECK(consumed == Mb({"SET", "a", "b"}).size());
  CHECK(p.argc() == 3);
  size_t at = consumed;
  REQUIRE(p.Parse(input.data() + at, input.size() - at, &consumed) == Result::kComplete);
  CHECK(consumed == 6);
  CHECK(p.argc() == 1);
  CHECK(p.arg(0) == "PING");
  at += consumed;
  REQUIRE(p.Parse(input.data() + at, input.size() - at, &consumed) == Result::kComplete);
  CHECK(at + consumed == input.size());
  CHECK(p.arg(1) == "a");
  REQUIRE(p.Parse(input.data() + input.size(), 0, &consumed) == Result::kNeedMore);
  CHECK(consumed == 0);
  CHECK(p.argc() == 0);
}

TEST_CASE("RequestParser: unchecked CRLFs, as Redis") {
  // redis-server 7.0.15 answers "$3\r\nabc\r\n+PONG\r\n" to this stream.
  ExpectCommands("*2\r\n$4\r\nECHO\r\n$3\r\nabcXX*1\r\n$4\r\nPING\r\n",
                 {{"ECHO", "abc"}, {"PING"}});
  // The byte after a count line's '\r' is not looked at either.
  ExpectCommands("*1\rX$4\r\nPING\r\n", {{"PING"}});
  ExpectCommands("*1\r\n$4\rxPING\r\n", {{"PING"}});
  // The trailer is required before the command is complete.
  ExpectWaiting("*1\r\n$3\r\nabc");
  ExpectWaiting("*1\r\n$3\r\nabc\r");
  ExpectWaiting("*1\r");
  ExpectWaiting("*1\r\n$3\r");
}

TEST_CASE("RequestParser: multibulk count errors") {
  const std::string kInvalid = "Protocol error: invalid multibulk length";
  ExpectError("*3000000000\r\n", kInvalid);  // protocol.tcl "Out of range multibulk length"
  ExpectError("*2147483648\r\n", kInvalid);
  ExpectError("*\r\n", kInvalid);
  ExpectError("*abc\r\n", kInvalid);
  ExpectError("*01\r\n$4\r\nPING\r\n", kInvalid);
  ExpectError("*+1\r\n$4\r\nPING\r\n", kInvalid);
  ExpectError("*-0\r\nPING\r\n", kInvalid);
  ExpectError("*1 \r\n", kInvalid);
  ExpectError("* 1\r\n", kInvalid);
  ExpectError("*99999999999999999999\r\n", kInvalid);
  ExpectError("*" + std::string(1000, '1') + "\r\n", kInvalid);
  // Commands before the bad one are still delivered.
  ExpectError("PING\r\n*x\r\n", kInvalid, {{"PING"}});
  // Redis 7.0 accepts any count up to INT_MAX (not 1024*1024): these wait for their bulks.
  ExpectWaiting("*1048577\r\n");
  ExpectWaiting("*2147483647\r\n$0\r\n\r\n");
}

TEST_CASE("RequestParser: bulk header errors") {
  const std::string kInvalid = "Protocol error: invalid bulk length";
  const std::vector<Args> none;
  // tests/unit/protocol.tcl
  ExpectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "Protocol error: expected '$', got 'f'");
  ExpectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", kInvalid);
  ExpectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", kInvalid);
  ExpectError("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", kInvalid);
  ExpectError("*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'");
  // More, checked against redis-server 7.0.15.
  ExpectError("*1\r\n$-1\r\n", kInvalid);
  ExpectError("*1\r\n$04\r\nPING\r\n", kInvalid);
  ExpectError("*1\r\n$\r\n", kInvalid);
  ExpectError("*1\r\n$4 \r\nPING\r\n", kInvalid);
  ExpectError("*1\r\n$+4\r\nPING\r\n", kInvalid);
  ExpectError("*1\r\n$" + std::string(30, '9') + "\r\n", kInvalid);
  // CR and LF are shown as a space; other bytes as they are.
  ExpectError("*1\r\n\r\n", "Protocol error: expected '$', got ' '");
  ExpectError("*1\r\n\n\r\n", "Protocol error: expected '$', got ' '");
  ExpectError("*1\r\n\t\r\n", "Protocol error: expected '$', got '\t'");
  ExpectError("*1\r\n\xff\r\n", "Protocol error: expected '$', got '\xff'");
  ExpectError("*2\r\n$4\r\nECHO\r\n*1\r\n", "Protocol error: expected '$', got '*'");
  // The '$' check waits for the whole line.
  ExpectWaiting("*1\r\nX");
  ExpectWaiting("*1\r\nfoo\r");
  // An error after complete commands in the same stream.
  ExpectError(Mb({"PING"}) + "*1\r\n$x\r\n", kInvalid, {{"PING"}});
}

TEST_CASE("RequestParser: inline errors") {
  const std::string kUnbalanced = "Protocol error: unbalanced quotes in request";
  // tests/unit/protocol.tcl "Unbalanced number of quotes"
  ExpectError("set \"\"\"test-key\"\"\" test-value\r\nping\r\n", kUnbalanced);
  ExpectError("ECHO \"a\"b\r\n", kUnbalanced);
  ExpectError("ECHO 'a'b\r\n", kUnbalanced);
  ExpectError("ECHO \"abc\r\n", kUnbalanced);
  ExpectError("ECHO 'abc\n", kUnbalanced);
  ExpectError("PING\r\nECHO \"x\\\"\r\n", kUnbalanced, {{"PING"}});
}

TEST_CASE("RequestParser: 64 KiB line limits") {
  const size_t kMax = 64 * 1024;
  // Inline: a line of exactly the limit (bytes before '\n') is accepted, one more is not.
  std::string word(kMax, 'a');
  Outcome ok = FeedWith(word + "\n", {4096, 4096, 100000});
  REQUIRE_FALSE(ok.error);
  REQUIRE(ok.commands.size() == 1);
  CHECK(ok.commands[0][0] == word);
  ExpectError(std::string(kMax + 1, 'a'), "Protocol error: too big inline request");
  ExpectError(std::string(kMax + 1, 'a') + "\n", "Protocol error: too big inline request");
  ExpectError(std::string(kMax, 'a') + "\r\n", "Protocol error: too big inline request");
  ExpectWaiting(std::string(kMax, 'a'));
  // Count lines: Redis counts the '*' or '$' too, up to the '\r'.
  ExpectWaiting("*" + std::string(kMax - 1, '1'));
  ExpectError("*" + std::string(kMax, '1'), "Protocol error: too big mbulk count string");
  ExpectWaiting("*1\r\n$" + std::string(kMax - 1, '1'));
  ExpectError("*1\r\n$" + std::string(kMax, '1'), "Protocol error: too big bulk count string");
  // The bulk line limit applies before the '$' is checked.
  ExpectError("*1\r\n" + std::string(70000, 'X'), "Protocol error: too big bulk count string");
  // A long line that does end is judged on its number.
  ExpectError("*" + std::string(kMax - 1, '1') + "\r\n",
              "Protocol error: invalid multibulk length");
}

TEST_CASE("RequestParser: a NUL before a line end desyncs as in Redis") {
  // protocol.tcl "Protocol desync regression test": Redis's strchr stops at the NUL, so the
  // line never ends and the connection fails once more than 64 KiB are held.
  std::string tail(70000, 'A');
  ExpectError(Bytes("\0", 1) + tail, "Protocol error: too big inline request");
  ExpectError(Bytes("*\0", 2) + tail, "Protocol error: too big mbulk count string");
  ExpectError(Bytes("$\0", 2) + tail, "Protocol error: too big inline request");
  ExpectError(Bytes("*1\r\n\0", 5) + tail, "Protocol error: too big bulk count string");
  // Newlines after the NUL do not help.
  ExpectError(Bytes("PING\0\r\n", 7) + std::string(70000, '\n'),
              "Protocol error: too big inline request");
  // Below the limit it just waits, even with complete-looking requests after the NUL.
  ExpectWaiting(Bytes("ECHO \0\r\n", 8) + Mb({"PING"}));
  ExpectWaiting(Bytes("*1\r\n\0\r\n", 7) + Mb({"PING"}));
  // Exactly at the limit it still waits (Redis: more than 64 KiB held is the error).
  ExpectWaiting(Bytes("\0", 1) + std::string(64 * 1024 - 1, 'A'));
}

TEST_CASE("RequestParser: unauthenticated limits") {
  const bool kUnauth = false;
  ExpectError("*11\r\n", "Protocol error: unauthenticated multibulk length", {}, {}, kUnauth);
  ExpectError("*1\r\n$16385\r\n", "Protocol error: unauthenticated bulk length", {}, {}, kUnauth);
  // Invalid values are reported as invalid first.
  ExpectError("*2147483648\r\n", "Protocol error: invalid multibulk length", {}, {}, kUnauth);
  ExpectError("*1\r\n$-1\r\n", "Protocol error: invalid bulk length", {}, {}, kUnauth);
  // At the limits it is fine.
  Args ten(10, "x");
  ten[9] = std::string(16384, 'v');
  Outcome o = FeedAllWays(Mb(ten), {}, kUnauth);
  CHECK_FALSE(o.error);
  CHECK(o.commands == std::vector<Args>{ten});
  // Skipped counts stay skipped; inline requests have no such limit.
  std::string many_words;
  for (int i = 0; i < 20; ++i) many_words += "w ";
  o = FeedAllWays("*-5\r\n" + many_words + "\r\n", {}, kUnauth);
  CHECK_FALSE(o.error);
  REQUIRE(o.commands.size() == 1);
  CHECK(o.commands[0].size() == 20);
  // The same stream is fine once authenticated.
  CHECK_FALSE(FeedAllWays("*11\r\n", {}, true).error);

  // The flag is read when each header is judged: AUTH, then a big command, same parser.
  RequestParser p;
  p.set_authenticated(false);
  std::string auth = Mb({"AUTH", "pw"});
  std::string big = Mb(Args(11, "k"));
  size_t consumed = 0;
  REQUIRE(p.Parse(auth.data(), auth.size(), &consumed) == Result::kComplete);
  p.set_authenticated(true);
  REQUIRE(p.Parse(big.data(), big.size(), &consumed) == Result::kComplete);
  CHECK(p.argc() == 11);
}

TEST_CASE("RequestParser: configurable limits") {
  ParserLimits small;
  small.max_bulk_len = 10;
  small.max_inline_len = 16;
  ExpectError("*1\r\n$11\r\n", "Protocol error: invalid bulk length", {}, small);
  Outcome o = FeedAllWays(Mb({"0123456789"}), small);
  CHECK_FALSE(o.error);
  CHECK(o.commands == std::vector<Args>{{"0123456789"}});
  ExpectError(std::string(17, 'a'), "Protocol error: too big inline request", {}, small);
  o = FeedAllWays(std::string(16, 'a') + "\n", small);
  CHECK(o.commands == std::vector<Args>{{std::string(16, 'a')}});
  ExpectError("*" + std::string(16, '1'), "Protocol error: too big mbulk count string", {}, small);

  // set_limits applies to the headers that follow.
  RequestParser p;
  std::string cmd = Mb({"ECHO", "0123456789A"});
  size_t consumed = 0;
  REQUIRE(p.Parse(cmd.data(), cmd.size(), &consumed) == Result::kComplete);
  p.set_limits(small);
  CHECK(p.Parse(cmd.data(), cmd.size(), &consumed) == Result::kError);
  CHECK(p.error() == "Protocol error: invalid bulk length");
}

TEST_CASE("RequestParser: a 10 MB bulk in 4 KB pieces") {
  std::string big(10 * 1024 * 1024, '\0');
  std::mt19937 rng(42);
  for (char& c : big) c = static_cast<char>(rng());
  std::string input = Mb({"SET", "big", big}) + Mb({"GET", "big"});
  RequestParser p;
  size_t offset = 0;
  size_t commands = 0;
  size_t max_buffered = 0;
  while (offset < input.size()) {
    size_t n = std::min<size_t>(4096, input.size() - offset);
    size_t at = 0;
    while (at < n) {
      size_t consumed = 0;
      Result r = p.Parse(input.data() + offset + at, n - at, &consumed);
      REQUIRE(r != Result::kError);
      at += consumed;
      if (r == Result::kNeedMore) {
        max_buffered = std::max(max_buffered, p.buffered_bytes());
        break;
      }
      ++commands;
      if (commands == 1) {
        REQUIRE(p.argc() == 3);
        CHECK(p.arg(2).size() == big.size());
        CHECK(p.arg(2) == big);
        // Reserved once up front: the payload was not copied through a growing buffer.
        CHECK(p.arg(2).capacity() == big.size());
      } else {
        CHECK(p.argc() == 2);
        CHECK(p.arg(1) == "big");
      }
    }
    offset += n;
  }
  CHECK(commands == 2);
  // The payload held for the unfinished SET is reported for client-query-buffer-limit.
  CHECK(max_buffered >= big.size() - 4096);
  CHECK(max_buffered <= big.size() + 16);
  CHECK(p.buffered_bytes() == 0);
}

TEST_CASE("RequestParser: buffered_bytes") {
  RequestParser p;
  size_t consumed = 0;
  CHECK(p.buffered_bytes() == 0);
  std::string part = "*2\r\n$3\r\nSET\r\n$10\r\n01234";
  REQUIRE(p.Parse(part.data(), part.size(), &consumed) == Result::kNeedMore);
  CHECK(p.buffered_bytes() == 8);  // "SET" + "01234"
  std::string rest = "56789\r\n";
  REQUIRE(p.Parse(rest.data(), rest.size(), &consumed) == Result::kComplete);
  std::string line = "SET abc";
  REQUIRE(p.Parse(line.data(), line.size(), &consumed) == Result::kNeedMore);
  CHECK(p.buffered_bytes() == line.size());
  p.Reset();
  CHECK(p.buffered_bytes() == 0);
  std::string header = "*12";
  REQUIRE(p.Parse(header.data(), header.size(), &consumed) == Result::kNeedMore);
  CHECK(p.buffered_bytes() == 3);
}

TEST_CASE("RequestParser: errors are sticky until Reset") {
  RequestParser p;
  std::string bad = "*1\r\nfoo\r\n";
  size_t consumed = 99;
  REQUIRE(p.Parse(bad.data(), bad.size(), &consumed) == Result::kError);
  CHECK(consumed <= bad.size());
  std::string good = Mb({"PING"});
  CHECK(p.Parse(good.data(), good.size(), &consumed) == Result::kError);
  CHECK(consumed == 0);
  CHECK(p.error() == "Protocol error: expected '$', got 'f'");
  p.Reset();
  CHECK(p.error().empty());
  REQUIRE(p.Parse(good.data(), good.size(), &consumed) == Result::kComplete);
  CHECK(p.arg(0) == "PING");
}

TEST_CASE("RequestParser: Reset drops a partial command") {
  for (std::string partial :
       {std::string("*3\r\n$3\r\nSET\r\n$1\r\n"), std::string("SET a"),
        std::string("*3\r\n$3\r\nSE"), std::string("*1\r"), Bytes("GET \0 x", 7)}) {
    RequestParser p;
    size_t consumed = 0;
    REQUIRE(p.Parse(partial.data(), partial.size(), &consumed) == Result::kNeedMore);
    p.Reset();
    CHECK(p.argc() == 0);
    CHECK(p.buffered_bytes() == 0);
    std::string next = Mb({"GET", "k"});
    REQUIRE(p.Parse(next.data(), next.size(), &consumed) == Result::kComplete);
    CHECK(consumed == next.size());
    REQUIRE(p.argc() == 2);
    CHECK(p.arg(0) == "GET");
    CHECK(p.arg(1) == "k");
  }
  // Reset keeps the limits and the authenticated flag.
  ParserLimits small;
  small.max_bulk_len = 3;
  RequestParser p(small);
  p.set_authenticated(false);
  p.Reset();
  size_t consumed = 0;
  std::string big_count = "*11\r\n";
  CHECK(p.Parse(big_count.data(), big_count.size(), &consumed) == Result::kError);
  CHECK(p.error() == "Protocol error: unauthenticated multibulk length");
  p.Reset();
  p.set_authenticated(true);
  std::string long_bulk = "*1\r\n$4\r\n";
  CHECK(p.Parse(long_bulk.data(), long_bulk.size(), &consumed) == Result::kError);
  CHECK(p.error() == "Protocol error: invalid bulk length");
}

TEST_CASE("RequestParser: argument strings keep their memory between commands") {
  RequestParser p;
  std::string v1(200, 'x');
  std::string v2(150, 'y');
  std::string a = Mb({"SET", "k", v1});
  std::string b = Mb({"SET", "k", v2});
  size_t consumed = 0;
  REQUIRE(p.Parse(a.data(), a.size(), &consumed) == Result::kComplete);
  const char* heap = p.arg(2).data();
  size_t capacity = p.arg(2).capacity();
  REQUIRE(p.Parse(b.data(), b.size(), &consumed) == Result::kComplete);
  CHECK(p.arg(2) == v2);
  CHECK(p.arg(2).data() == heap);  // same buffer: no allocation for the smaller value
  CHECK(p.arg(2).capacity() == capacity);
  // Inline words reuse the same slots.
  std::string line = "SET k " + std::string(180, 'z') + "\r\n";
  REQUIRE(p.Parse(line.data(), line.size(), &consumed) == Result::kComplete);
  CHECK(p.arg(2).data() == heap);

  // A huge argument's memory is released once the next command starts.
  std::string huge = Mb({"SET", "k", std::string(1 << 20, 'h')});
  REQUIRE(p.Parse(huge.data(), huge.size(), &consumed) == Result::kComplete);
  CHECK(p.arg(2).capacity() >= (1u << 20));
  REQUIRE(p.Parse(b.data(), b.size(), &consumed) == Result::kComplete);
  CHECK(p.arg(2) == v2);
  CHECK(p.arg(2).capacity() < 64 * 1024);

  // Many medium arguments: the total kept after the command is bounded too.
  Args medium(100, std::string(60 * 1024, 'm'));
  std::string wide = Mb(medium);
  REQUIRE(p.Parse(wide.data(), wide.size(), &consumed) == Result::kComplete);
  REQUIRE(p.argc() == 100);
  std::string wider = Mb(Args(100, "s"));
  REQUIRE(p.Parse(wider.data(), wider.size(), &consumed) == Result::kComplete);
  size_t kept = 0;
  for (size_t i = 0; i < p.argc(); ++i) kept += p.arg(i).capacity();
  CHECK(kept <= 320 * 1024);
  CHECK(kept >= 4 * 60 * 1024);  // but the first few keep theirs: small churn stays free
}

TEST_CASE("RequestParser: many arguments") {
  // protocol.tcl "test large number of args": MSET with 20002 arguments.
  Args args{"MSET"};
  for (int i = 0; i < 10000; ++i) {
    args.push_back("k" + std::to_string(i));
    args.push_back("v");
  }
  std::string input = Mb(args) + Mb({"PING"});
  Outcome o = FeedWith(input, {input.size()});
  REQUIRE(o.commands.size() == 2);
  CHECK(o.commands[0] == args);
  CHECK(o.commands[1] == Args{"PING"});
  std::vector<size_t> pieces(input.size() / 7 + 1, 7);
  CHECK(FeedWith(input, pieces) == o);
}

TEST_CASE("RequestParser: random valid streams parse the same however they are split") {
  std::mt19937 rng(1234);
  for (int round = 0; round < 40; ++round) {
    std::string input;
    std::vector<Args> expected;
    int n = std::uniform_int_distribution<int>(1, 12)(rng);
    for (int c = 0; c < n; ++c) {
      int kind = std::uniform_int_distribution<int>(0, 4)(rng);
      if (kind == 0) {  // inline, plain words
        Args words;
        int w = std::uniform_int_distribution<int>(1, 4)(rng);
        std::string line;
        for (int i = 0; i < w; ++i) {
          std::string word = "w" + std::to_string(rng() % 1000);
          words.push_back(word);
          line += word + (rng() % 2 ? " " : "\t ");
        }
        input += line + (rng() % 2 ? "\r\n" : "\n");
        expected.push_back(words);
      } else if (kind == 1) {  // skipped requests
        input += (rng() % 2) ? "*0\r\n" : "\r\n";
      } else {  // multibulk with arbitrary bytes
        Args args;
        int argc = std::uniform_int_distribution<int>(1, 5)(rng);
        for (int i = 0; i < argc; ++i) {
          std::string a(std::uniform_int_distribution<size_t>(0, 40)(rng), '\0');
          for (char& ch : a) ch = static_cast<char>(rng());
          args.push_back(a);
        }
        input += Mb(args);
        expected.push_back(args);
      }
    }
    Outcome o = FeedAllWays(input);
    CHECK_FALSE(o.error);
    CHECK(o.commands == expected);
  }
}

TEST_CASE("RequestParser: random garbage gives one answer however it is split") {
  // No crash (ASan/UBSan), and the same commands/error whatever the split.
  std::mt19937 rng(99);
  const char alphabet[] = {'*', '$', '\r', '\n', '0',  '1',  '2', '3',
                           '-', 'a', ' ',  '"',  '\'', '\\', 'x', '\0'};
  for (int round = 0; round < 300; ++round) {
    std::string input;
    size_t len = std::uniform_int_distribution<size_t>(1, 60)(rng);
    for (size_t i = 0; i < len; ++i) input.push_back(alphabet[rng() % sizeof(alphabet)]);
    if (rng() % 2) input = Mb({"SET", "a", "b"}) + input;
    FeedAllWays(input);
  }
}

TEST_CASE("SplitInlineArgs: sdssplitargs rules") {
  auto split = [](const std::string& line, Args* out) {
    return SplitInlineArgs(line.data(), line.size(), out);
  };
  Args out;
  REQUIRE(split("", &out));
  CHECK(out.empty());
  REQUIRE(split("  \t\r\n\v\f ", &out));
  CHECK(out.empty());
  REQUIRE(split("SET key value", &out));
  CHECK(out == Args{"SET", "key", "value"});
  REQUIRE(split("  a\t\tb\r\nc\n", &out));
  CHECK(out == Args{"a", "b", "c"});
  // Double quotes and their escapes.
  REQUIRE(split("\"hello world\" \"a\\\"b\" \"\\n\\r\\t\\b\\a\\\\\"", &out));
  CHECK(out == Args{"hello world", "a\"b", "\n\r\t\b\a\\"});
  REQUIRE(split("\"\\x41\\x62\\xff\\x00z\"", &out));
  CHECK(out == Args{std::string("Ab\xff") + Bytes("\0", 1) + "z"});
  REQUIRE(split("\"\\xzz\" \"\\x4\" \"\\q\"", &out));  // not \xHH: the backslash is dropped
  CHECK(out == Args{"xzz", "x4", "q"});
  // Single quotes only know \'.
  REQUIRE(split("'it\\'s' 'a\\nb' 'x\"y'", &out));
  CHECK(out == Args{"it's", "a\\nb", "x\"y"});
  // Empty quoted words are words.
  REQUIRE(split("\"\" ''", &out));
  CHECK(out == Args{"", ""});
  // A quote may start in the middle of a word.
  REQUIRE(split("a\"b c\" d'e f'", &out));
  CHECK(out == Args{"ab c", "de f"});
  // Escapes mean nothing outside quotes.
  REQUIRE(split("a\\x41 b\\n", &out));
  CHECK(out == Args{"a\\x41", "b\\n"});
  // \v and \f do not end a bare word, but are blanks after a closing quote.
  REQUIRE(split("a\vb \"c\"\fd", &out));
  CHECK(out == Args{"a\vb", "c", "d"});
  // Bytes above 0x7f are ordinary.
  REQUIRE(split("\xc3\xa9t\xc3\xa9 \xff", &out));
  CHECK(out == Args{"\xc3\xa9t\xc3\xa9", "\xff"});
  // Unbalanced: the result is false and *out is emptied.
  out = {"stale"};
  CHECK_FALSE(split("\"abc", &out));
  CHECK(out.empty());
  CHECK_FALSE(split("'abc", &out));
  CHECK_FALSE(split("\"abc\\\"", &out));
  CHECK_FALSE(split("\"abc\\", &out));
  CHECK_FALSE(split("\"a\"b", &out));
  CHECK_FALSE(split("'a'b", &out));
  CHECK_FALSE(split("x \"a\"\"b\"", &out));
  CHECK_FALSE(split("\"\"\"test-key\"\"\"", &out));
  // As on a C string, a NUL ends the line; inside quotes that leaves them open.
  REQUIRE(split(Bytes("a b\0c d", 7), &out));
  CHECK(out == Args{"a", "b"});
  CHECK_FALSE(split(Bytes("\"a\0b\"", 5), &out));
  // The length is honoured: nothing past it is read.
  std::string padded = "GET key\"";
  REQUIRE(SplitInlineArgs(padded.data(), 7, &out));
  CHECK(out == Args{"GET", "key"});
}

}  // namespace
}  // namespace organic::protocol
