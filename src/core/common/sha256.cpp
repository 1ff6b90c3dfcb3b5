#include "common/sha256.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "common/error.hpp"

namespace mirada {
namespace {
struct DigestCtx {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
    DigestCtx() {
        if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
            throw Error("SHA-256: OpenSSL could not start a digest");
    }
    void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
    std::string hex() {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(ctx.get(), md, &len);
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (unsigned i = 0; i < len; ++i) {
            out += digits[md[i] >> 4];
            out += digits[md[i] & 15];
        }
        return out;
    }
};
}  // namespace

std::string sha256Hex(const void* data, std::size_t size) {
    DigestCtx d;
    d.update(data, size);
    return d.hex();
}

std::string sha256File(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error("cannot open '" + file.string() + "' to compute its SHA-256: check that it exists and is readable");
    DigestCtx d;
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        if (in.gcount() > 0) d.update(buf.data(), static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) throw Error("read error in '" + file.string() + "' while computing its SHA-256");
    return d.hex();
}
}  // namespace mirada
