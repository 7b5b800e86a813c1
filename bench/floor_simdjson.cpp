// SPDX-License-Identifier: Apache-2.0
//
// floor_simdjson.cpp: the parse floor vigie is measured against.
//
// Bench only. Streams an NDJSON file in 8 MiB chunks (cut at the last newline, so memory is
// flat and reading is inside the timing, as it is for vigie), parses every record with
// simdjson's On-Demand API (Debian's libsimdjson-dev, `iterate_many` over each chunk) and
// looks up three fields per record with find_field_unordered: its time, its operation /
// event name and its client address, whichever names the record kind uses (M365 UAL,
// Entra SigninLogs row, Azure Monitor envelope, CloudTrail; anything else tries all the
// names). The kind is told from the record's first key, a memcmp, so the floor does not pay
// for lookups that miss. This is the least work a JSON engine that reads three fields of
// every event can do: a detection engine that evaluates rules on the same events should be
// within a small factor of it.
//
// Output (stdout, one line):
//   events=N bytes=N seconds=S found=N bad=N stage1=KERNEL ondemand=KERNEL
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

struct kind {
    std::string_view prefix;  // how the record starts
    const char *keys[3];      // time, operation, address
};

const kind kinds[] = {
    {R"({"CreationTime")", {"CreationTime", "Operation", "ClientIP"}},
    {R"({"TenantId")", {"TimeGenerated", "ResultType", "IPAddress"}},
    {R"({"time")", {"time", "resultType", "callerIpAddress"}},
    {R"({"eventVersion")", {"eventTime", "eventName", "sourceIPAddress"}},
};

size_t lookup(simdjson::ondemand::object &obj, const char *const keys[3])
{
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        std::string_view v;
        auto f = obj.find_field_unordered(keys[i]);
        if (f.error())
            continue;
        // read the value so the floor pays for it like vigie does (strings or numbers)
        if (!f.get_string().get(v) || !f.raw_json_token().get(v))
            n++;
    }
    return n;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: floor_simdjson FILE.ndjson\n");
        return 2;
    }
    const size_t chunk = (size_t)8 << 20;
    FILE *f = std::fopen(argv[1], "rb");
    if (!f) {
        std::fprintf(stderr, "floor_simdjson: error: cannot open %s\n", argv[1]);
        return 1;
    }
    char *buf = static_cast<char *>(std::malloc(chunk + simdjson::SIMDJSON_PADDING));
    if (!buf) {
        std::fclose(f);
        std::fprintf(stderr, "floor_simdjson: error: out of memory\n");
        return 1;
    }
    std::memset(buf + chunk, 0, simdjson::SIMDJSON_PADDING);
    simdjson::ondemand::parser parser;
    size_t events = 0, found = 0, bytes = 0, have = 0, bad = 0;
    int rc = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (;;) {
        size_t got = std::fread(buf + have, 1, chunk - have, f);
        bytes += got;
        have += got;
        bool eof = got == 0;
        if (have == 0)
            break;
        // whole lines only, unless this is the tail of the file
        size_t cut = have;
        if (!eof) {
            const char *nl = static_cast<const char *>(memrchr(buf, '\n', have));
            if (!nl && have < chunk)
                continue; // a partial line: read on (the next read may hit end of file)
            if (!nl) {
                std::fprintf(stderr, "floor_simdjson: error: record longer than %zu bytes\n",
                             chunk);
                rc = 1;
                break;
            }
            cut = (size_t)(nl - buf) + 1;
        }
        simdjson::ondemand::document_stream stream;
        auto err = parser.iterate_many(reinterpret_cast<const uint8_t *>(buf), cut,
                                       (size_t)1 << 20).get(stream);
        if (err) {
            std::fprintf(stderr, "floor_simdjson: error: %s\n", simdjson::error_message(err));
            rc = 1;
            break;
        }
        for (auto it = stream.begin(); it != stream.end(); ++it) {
            simdjson::ondemand::object obj;
            std::string_view src = it.source();
            auto doc = *it;
            if (doc.get_object().get(obj)) {
                bad++;
                continue;
            }
            events++;
            const kind *k = nullptr;
            for (const kind &c : kinds)
                if (src.substr(0, c.prefix.size()) == c.prefix)
                    k = &c;
            if (k) {
                found += lookup(obj, k->keys);
            } else {
                for (const kind &c : kinds)
                    found += lookup(obj, c.keys);
            }
        }
        if (stream.truncated_bytes() && eof)
            bad++; // the file ends inside a record
        else if (stream.truncated_bytes()) {
            std::fprintf(stderr, "floor_simdjson: error: truncated chunk\n");
            rc = 1;
            break;
        }
        std::memmove(buf, buf + cut, have - cut);
        have -= cut;
        if (eof)
            break;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fclose(f);
    std::free(buf);
    if (rc == 0)
        std::printf("events=%zu bytes=%zu seconds=%.6f found=%zu bad=%zu stage1=%s ondemand=%s\n",
                    events, bytes, s, found, bad,
                    simdjson::get_active_implementation()->name().c_str(),
                    SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
    return rc;
}
