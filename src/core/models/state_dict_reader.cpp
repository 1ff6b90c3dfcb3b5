// A reader for torch.save files (state_dicts) that needs no Python.
//
// The pickle interpreter below knows only the opcodes and the handful of
// classes a state_dict uses. It never calls anything the file names: every
// GLOBAL is checked against an allow-list and a REDUCE of an allowed name is
// interpreted here. Values live in an arena owned by the reader, so neither
// deep nesting nor reference cycles in a hostile file can overflow the stack
// or leak; every length read from the file is checked against the bytes that
// are left before anything is allocated.
#include "models/state_dict_reader.hpp"

#include "common/error.hpp"

#include <caffe2/serialize/inline_container.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace mirada {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRedownload = "the download was probably interrupted — download it again";
constexpr const char* kResave = "re-save the weights in Python with torch.save(model.state_dict(), 'weights.pth')";
constexpr const char* kResaveCap = "Re-save the weights in Python with torch.save(model.state_dict(), 'weights.pth')";

// First 14 bytes of a legacy torch.save file: PROTO 2, LONG1 of 10 bytes holding
// the magic number 0x1950a86a20f9469cfc6c (little-endian two's complement).
constexpr unsigned char kLegacyPrefix[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                           0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;

// Limits that keep a hostile file from turning a few kilobytes into gigabytes
// (issue 12, D5). Each is far above what a real state dict needs.
//  - Pickle objects: a state dict uses about 20 per tensor (ResNet50: ~6,000),
//    so 2 million (about 250 MB of interpreter memory at most) leaves room for
//    100,000 tensors. The stack and the memo are bounded by the same number.
constexpr std::size_t kMaxPickleObjects = 2'000'000;
//  - Zip records: torch.save stores records uncompressed, so the records read
//    (data.pkl, byteorder, the storages) declare at most the file's size. A
//    re-compressed archive is accepted up to kMaxZipExpansion times the file's
//    size in all; the declared sizes are checked before anything is inflated.
constexpr uint64_t kMaxZipExpansion = 8;
//  - Tensors: none may have more elements than its storage holds (no stride-0
//    expansions or overlapping windows), and the copies made for views (tensors
//    that are not exactly their whole storage) add up to at most twice the
//    file's size plus 1 GiB (a ResNet-50 whose every tensor is a slice of one
//    10 MB storage copies 102 MB; 40,000 slices of a file-sized storage would
//    copy 40,000 files).
constexpr uint64_t kViewCopySlack = uint64_t{1} << 30;

std::string quoted(const fs::path& file) { return "'" + file.string() + "'"; }

[[noreturn]] void fail(const std::string& message) { throw Error(message); }

bool isLittleEndianHost() {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
#else
    const uint16_t one = 1;
    unsigned char b = 0;
    std::memcpy(&b, &one, 1);
    return b == 1;
#endif
}

// ---------------------------------------------------------------- byte sources

class Source {
public:
    virtual ~Source() = default;
    virtual uint64_t pos() const = 0;
    virtual uint64_t size() const = 0;
    uint64_t remaining() const { return size() - pos(); }
    // Reads exactly n bytes; false (and nothing defined about dst) when fewer remain.
    virtual bool read(void* dst, std::size_t n) = 0;
    virtual bool skip(uint64_t n) = 0;
};

class MemorySource final : public Source {
public:
    MemorySource(const void* data, std::size_t size) : data_(static_cast<const unsigned char*>(data)), size_(size) {}
    uint64_t pos() const override { return pos_; }
    uint64_t size() const override { return size_; }
    bool read(void* dst, std::size_t n) override {
        if (n > size_ - pos_) return false;
        if (n) std::memcpy(dst, data_ + pos_, n);
        pos_ += n;
        return true;
    }
    bool skip(uint64_t n) override {
        if (n > size_ - pos_) return false;
        pos_ += n;
        return true;
    }

private:
    const unsigned char* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

// Buffered reads from a file; large reads go straight into the destination.
class FileSource final : public Source {
public:
    FileSource(const fs::path& file, uint64_t size) : size_(size), buf_(1 << 16) {
        f_ = std::fopen(file.c_str(), "rb");
        if (!f_)
            fail("Cannot open " + quoted(file) + " for reading: " + std::strerror(errno) +
                 "; check that the file exists and is readable.");
    }
    ~FileSource() override {
        if (f_) std::fclose(f_);
    }
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    uint64_t pos() const override { return bufStart_ + bufPos_; }
    uint64_t size() const override { return size_; }

    bool read(void* dst, std::size_t n) override {
        if (n > remaining()) return false;
        auto* out = static_cast<unsigned char*>(dst);
        const std::size_t avail = bufLen_ - bufPos_;
        if (n <= avail) {
            std::memcpy(out, buf_.data() + bufPos_, n);
            bufPos_ += n;
            return true;
        }
        std::memcpy(out, buf_.data() + bufPos_, avail);
        out += avail;
        n -= avail;
        bufStart_ += bufLen_;
        bufPos_ = bufLen_ = 0;
        if (n >= buf_.size()) {
            if (std::fread(out, 1, n, f_) != n) return false;
            bufStart_ += n;
            return true;
        }
        if (!fill()) return false;
        if (n > bufLen_) return false;
        std::memcpy(out, buf_.data(), n);
        bufPos_ = n;
        return true;
    }

    bool skip(uint64_t n) override {
        if (n > remaining()) return false;
        if (n <= bufLen_ - bufPos_) {
            bufPos_ += static_cast<std::size_t>(n);
            return true;
        }
        const uint64_t target = pos() + n;
        if (fseeko(f_, static_cast<off_t>(target), SEEK_SET) != 0) return false;
        bufStart_ = target;
        bufPos_ = bufLen_ = 0;
        return true;
    }

private:
    bool fill() {
        const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(buf_.size(), size_ - bufStart_));
        bufLen_ = std::fread(buf_.data(), 1, want, f_);
        bufPos_ = 0;
        return bufLen_ > 0;
    }

    std::FILE* f_ = nullptr;
    uint64_t size_;
    std::vector<unsigned char> buf_;
    uint64_t bufStart_ = 0;  // file offset of buf_[0]
    std::size_t bufPos_ = 0;
    std::size_t bufLen_ = 0;
};

// ------------------------------------------------------------------- values

enum class Kind { None, Bool, Int, BigInt, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };

const char* kindName(Kind k) {
    switch (k) {
        case Kind::None: return "None";
        case Kind::Bool: return "bool";
        case Kind::Int: return "int";
        case Kind::BigInt: return "int";
        case Kind::Float: return "float";
        case Kind::Str: return "str";
        case Kind::Bytes: return "bytes";
        case Kind::Tuple: return "tuple";
        case Kind::List: return "list";
        case Kind::Dict: return "dict";
        case Kind::Global: return "class";
        case Kind::Storage: return "storage";
        case Kind::Tensor: return "tensor";
    }
    return "?";
}

struct Value {
    Kind kind = Kind::None;
    int64_t i = 0;                                   // Int, Bool; Global: index into the known globals
    double f = 0;                                    // Float
    std::string s;                                   // Str, Bytes, BigInt (raw little-endian bytes), Global (full name)
    std::vector<Value*> items;                       // Tuple, List
    std::vector<std::pair<Value*, Value*>> entries;  // Dict, in insertion order
    std::size_t ref = 0;                             // Storage: index into storages; Tensor: index into tensors
};

enum class GlobalId {
    OrderedDict,
    RebuildTensorV2,
    RebuildTensor,
    RebuildParameter,
    RebuildParameterWithState,
    StorageType,
};

struct StorageType {
    const char* name;
    c10::ScalarType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", c10::ScalarType::Float},
    {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
    {"ComplexFloatStorage", c10::ScalarType::ComplexFloat},
    {"ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
};

struct StorageInfo {
    std::string key;
    c10::ScalarType dtype = c10::ScalarType::Float;
    int64_t numel = 0;       // elements, as the persistent id declares
    bool isView = false;     // legacy view of another storage
    std::size_t root = 0;    // isView: index of the root storage
    int64_t rootOffset = 0;  // isView: element offset in the root
    torch::Tensor data;      // 1-D, loaded on demand (roots only)
    bool loaded = false;
};

struct TensorRef {
    std::size_t storage = 0;
    int64_t offset = 0;
    std::vector<int64_t> sizes;
    std::vector<int64_t> strides;
};

struct Context {
    fs::path file;
    uint64_t fileSize = 0;
    bool legacy = false;
    std::deque<Value> arena;
    std::vector<StorageInfo> storages;
    std::unordered_map<std::string, std::size_t> storageByKey;
    std::vector<TensorRef> tensors;
    uint64_t viewCopyBytes = 0;  // bytes of the copies made for views so far
    std::string entry;           // the checkpoint entry asked for ("model_ema"), "" = the usual ones

    [[noreturn]] void tooManyObjects(const std::string& what) const {
        fail(quoted(file) + " is not a plausible weight file: its pickled data " + what + " more than " +
             std::to_string(kMaxPickleObjects) + " " + (what == std::string("opens") ? "MARKs" : "objects") +
             " (a state dict needs about 20 objects per tensor), so Mirada stopped reading it to bound memory; " +
             "download or save the file again, or " + kResave + ".");
    }
    Value* make(Kind k) {
        if (arena.size() >= kMaxPickleObjects) tooManyObjects("creates");
        arena.emplace_back();
        arena.back().kind = k;
        return &arena.back();
    }
};

// --------------------------------------------------------------- unpickler

class Unpickler {
public:
    // pid handler: turns a persistent id into a Storage value.
    using PersistentLoad = std::function<Value*(Value* pid, uint64_t at)>;

    Unpickler(Source& src, Context& ctx, std::string where, PersistentLoad pers)
        : src_(src), ctx_(ctx), where_(std::move(where)), pers_(std::move(pers)) {}

    Value* load();

private:
    [[noreturn]] void damaged(const std::string& what) const {
        fail(quoted(ctx_.file) + " is damaged: " + what + " (pickle byte " + std::to_string(opPos_) + " of " + where_ +
             "). Expected a PyTorch weight file written by torch.save; " + "download or save the file again.");
    }
    [[noreturn]] void truncated() const {
        if (ctx_.legacy)
            fail(quoted(ctx_.file) + " is truncated: its pickled data stops in the middle at byte " +
                 std::to_string(src_.pos()) + " and the file has only " + std::to_string(src_.size()) + " bytes; " +
                 kRedownload + ".");
        damaged("the pickled data ends in the middle of an instruction");
    }
    void need(void* dst, std::size_t n) {
        if (!src_.read(dst, n)) truncated();
    }
    uint8_t u8() {
        uint8_t v;
        need(&v, 1);
        return v;
    }
    uint16_t u16() {
        unsigned char b[2];
        need(b, 2);
        return static_cast<uint16_t>(b[0] | (b[1] << 8));
    }
    uint32_t u32() {
        unsigned char b[4];
        need(b, 4);
        return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) | (static_cast<uint32_t>(b[2]) << 16) |
               (static_cast<uint32_t>(b[3]) << 24);
    }
    uint64_t u64() {
        unsigned char b[8];
        need(b, 8);
        uint64_t v = 0;
        for (int k = 7; k >= 0; --k) v = (v << 8) | b[k];
        return v;
    }
    std::string bytes(uint64_t n) {
        if (n > src_.remaining()) truncated();
        std::string s(static_cast<std::size_t>(n), '\0');
        need(s.data(), s.size());
        return s;
    }
    std::string line() {
        std::string s;
        for (;;) {
            const char c = static_cast<char>(u8());
            if (c == '\n') return s;
            s.push_back(c);
            if (s.size() > 1024) damaged("a GLOBAL name is longer than 1024 bytes");
        }
    }

    Value* pop() {
        if (stack_.size() <= floor()) damaged("an instruction needs more values than are on the stack");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        if (stack_.size() <= floor()) damaged("an instruction needs a value but the stack is empty");
        return stack_.back();
    }
    std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<Value*> popMark() {
        if (marks_.empty()) damaged("an instruction needs a MARK but there is none");
        const std::size_t m = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
        stack_.resize(m);
        return items;
    }
    void push(Value* v) {
        if (stack_.size() >= kMaxPickleObjects) ctx_.tooManyObjects("puts on its stack");
        stack_.push_back(v);
    }
    Value* makeInt(int64_t v) {
        Value* x = ctx_.make(Kind::Int);
        x->i = v;
        return x;
    }
    Value* makeStr(std::string s, Kind k = Kind::Str) {
        Value* x = ctx_.make(k);
        x->s = std::move(s);
        return x;
    }
    Value* makeSeq(Kind k, std::vector<Value*> items) {
        Value* x = ctx_.make(k);
        x->items = std::move(items);
        return x;
    }
    Value* makeLong(const std::string& raw) {
        if (raw.size() <= 8) {
            uint64_t v = 0;
            for (std::size_t k = raw.size(); k-- > 0;) v = (v << 8) | static_cast<unsigned char>(raw[k]);
            if (!raw.empty() && raw.size() < 8 && (static_cast<unsigned char>(raw.back()) & 0x80))
                v |= ~uint64_t{0} << (8 * raw.size());  // sign-extend
            return makeInt(static_cast<int64_t>(v));
        }
        return makeStr(raw, Kind::BigInt);
    }
    void memoPut(uint64_t idx) {
        Value* v = top();
        if (memo_.size() >= kMaxPickleObjects && memo_.find(idx) == memo_.end()) ctx_.tooManyObjects("memoizes");
        memo_[idx] = v;
    }
    Value* memoGet(uint64_t idx) {
        auto it = memo_.find(idx);
        if (it == memo_.end()) damaged("it refers to memo entry " + std::to_string(idx) + ", which was never stored");
        return it->second;
    }

    Value* global(const std::string& module, const std::string& name);
    Value* reduce(Value* callable, Value* args);
    Value* rebuildTensor(Value* args, const char* fn);
    void setItems(Value* dict, const std::vector<Value*>& kv);
    void appendItems(Value* list, const std::vector<Value*>& items);

    Source& src_;
    Context& ctx_;
    std::string where_;
    PersistentLoad pers_;
    std::vector<Value*> stack_;
    std::vector<std::size_t> marks_;
    std::unordered_map<uint64_t, Value*> memo_;
    uint64_t opPos_ = 0;
};

Value* Unpickler::global(const std::string& module, const std::string& name) {
    Value* g = ctx_.make(Kind::Global);
    g->s = module + "." + name;
    if (module == "collections" && name == "OrderedDict") {
        g->i = static_cast<int64_t>(GlobalId::OrderedDict);
        return g;
    }
    if (module == "torch._utils") {
        if (name == "_rebuild_tensor_v2")
            g->i = static_cast<int64_t>(GlobalId::RebuildTensorV2);
        else if (name == "_rebuild_tensor")
            g->i = static_cast<int64_t>(GlobalId::RebuildTensor);
        else if (name == "_rebuild_parameter")
            g->i = static_cast<int64_t>(GlobalId::RebuildParameter);
        else if (name == "_rebuild_parameter_with_state")
            g->i = static_cast<int64_t>(GlobalId::RebuildParameterWithState);
        else
            g = nullptr;
        if (g) return g;
    }
    if (module == "torch") {
        for (const auto& st : kStorageTypes)
            if (name == st.name) {
                g->i = static_cast<int64_t>(GlobalId::StorageType);
                g->ref = static_cast<std::size_t>(st.dtype);
                return g;
            }
    }
    std::string hint;
    if (module == "torch._utils")
        hint =
            " Quantized, sparse and other special tensors are not supported; convert them to ordinary dense "
            "tensors and";
    else
        hint = " If this is a training checkpoint or a whole pickled model,";
    fail(quoted(ctx_.file) + " contains the Python object '" + module + "." + name + "' (pickle byte " +
         std::to_string(opPos_) + " of " + where_ +
         "). Mirada reads only tensors, OrderedDicts and plain values from a weight file and never runs code "
         "that a file names." +
         hint + " " + kResave + ".");
}

void Unpickler::setItems(Value* dict, const std::vector<Value*>& kv) {
    if (dict->kind != Kind::Dict) damaged(std::string("SETITEM(S) on a ") + kindName(dict->kind) + ", not a dict");
    if (kv.size() % 2) damaged("SETITEMS with an odd number of values");
    for (std::size_t k = 0; k < kv.size(); k += 2) dict->entries.emplace_back(kv[k], kv[k + 1]);
}

void Unpickler::appendItems(Value* list, const std::vector<Value*>& items) {
    if (list->kind != Kind::List) damaged(std::string("APPEND(S) on a ") + kindName(list->kind) + ", not a list");
    list->items.insert(list->items.end(), items.begin(), items.end());
}

Value* Unpickler::rebuildTensor(Value* args, const char* fn) {
    auto bad = [&](const std::string& what) {
        damaged(std::string("the arguments of torch._utils.") + fn + " are not what torch.save writes: " + what);
    };
    if (args->items.size() < 4) bad("fewer than 4 arguments");
    Value* storage = args->items[0];
    Value* offset = args->items[1];
    Value* size = args->items[2];
    Value* stride = args->items[3];
    if (storage->kind != Kind::Storage)
        bad(std::string("argument 1 is a ") + kindName(storage->kind) + ", not a storage");
    if (offset->kind != Kind::Int) bad("the storage offset is not an int");
    if (size->kind != Kind::Tuple || stride->kind != Kind::Tuple) bad("size or stride is not a tuple");
    if (size->items.size() != stride->items.size()) bad("size and stride have different lengths");
    if (size->items.size() > 64) bad("more than 64 dimensions");
    TensorRef t;
    t.storage = storage->ref;
    t.offset = offset->i;
    for (std::size_t d = 0; d < size->items.size(); ++d) {
        if (size->items[d]->kind != Kind::Int || stride->items[d]->kind != Kind::Int)
            bad("a size or stride is not an int");
        t.sizes.push_back(size->items[d]->i);
        t.strides.push_back(stride->items[d]->i);
    }
    ctx_.tensors.push_back(std::move(t));
    Value* v = ctx_.make(Kind::Tensor);
    v->ref = ctx_.tensors.size() - 1;
    return v;
}

Value* Unpickler::reduce(Value* callable, Value* args) {
    if (callable->kind != Kind::Global) damaged(std::string("REDUCE calls a ") + kindName(callable->kind));
    if (args->kind != Kind::Tuple) damaged("REDUCE arguments are not a tuple");
    switch (static_cast<GlobalId>(callable->i)) {
        case GlobalId::OrderedDict: {
            Value* d = ctx_.make(Kind::Dict);
            if (!args->items.empty()) {
                Value* init = args->items[0];
                if (init->kind != Kind::List && init->kind != Kind::Tuple)
                    damaged("OrderedDict is built from something other than a list of pairs");
                for (Value* pair : init->items) {
                    if ((pair->kind != Kind::List && pair->kind != Kind::Tuple) || pair->items.size() != 2)
                        damaged("OrderedDict is built from something other than a list of pairs");
                    d->entries.emplace_back(pair->items[0], pair->items[1]);
                }
            }
            return d;
        }
        case GlobalId::RebuildTensorV2: return rebuildTensor(args, "_rebuild_tensor_v2");
        case GlobalId::RebuildTensor: return rebuildTensor(args, "_rebuild_tensor");
        case GlobalId::RebuildParameter:
        case GlobalId::RebuildParameterWithState:
            if (args->items.empty() || args->items[0]->kind != Kind::Tensor)
                damaged("torch._utils._rebuild_parameter is not given a tensor");
            return args->items[0];
        case GlobalId::StorageType: break;
    }
    damaged("it calls '" + callable->s + "', which torch.save never calls");
}

Value* Unpickler::load() {
    for (;;) {
        opPos_ = src_.pos();
        const uint8_t op = u8();
        switch (op) {
            case 0x80: {  // PROTO
                const uint8_t proto = u8();
                if (proto > 5) damaged("pickle protocol " + std::to_string(proto) + " is newer than any Python writes");
                break;
            }
            case 0x95: u64(); break;  // FRAME: a size hint only
            case '.':                 // STOP
                if (!marks_.empty()) damaged("STOP inside an open MARK");
                return pop();
            case '(':  // MARK
                if (marks_.size() >= kMaxPickleObjects) ctx_.tooManyObjects("opens");
                marks_.push_back(stack_.size());
                break;
            case '0': pop(); break;        // POP
            case '1': popMark(); break;    // POP_MARK
            case '2': push(top()); break;  // DUP
            case 'N': push(ctx_.make(Kind::None)); break;
            case 0x88:
            case 0x89: {  // NEWTRUE / NEWFALSE
                Value* b = ctx_.make(Kind::Bool);
                b->i = op == 0x88;
                push(b);
                break;
            }
            case 'J': push(makeInt(static_cast<int32_t>(u32()))); break;  // BININT
            case 'K': push(makeInt(u8())); break;                         // BININT1
            case 'M': push(makeInt(u16())); break;                        // BININT2
            case 0x8a: push(makeLong(bytes(u8()))); break;                // LONG1
            case 0x8b: {                                                  // LONG4
                const uint32_t n = u32();
                if (n > 4096) damaged("a LONG4 integer of " + std::to_string(n) + " bytes");
                push(makeLong(bytes(n)));
                break;
            }
            case 'G': {  // BINFLOAT, big-endian double
                unsigned char b[8];
                need(b, 8);
                uint64_t bits = 0;
                for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
                Value* f = ctx_.make(Kind::Float);
                std::memcpy(&f->f, &bits, 8);
                push(f);
                break;
            }
            case 'X': push(makeStr(bytes(u32()))); break;   // BINUNICODE
            case 0x8c: push(makeStr(bytes(u8()))); break;   // SHORT_BINUNICODE
            case 0x8d: push(makeStr(bytes(u64()))); break;  // BINUNICODE8
            case 'T': {                                     // BINSTRING (signed length)
                const int32_t n = static_cast<int32_t>(u32());
                if (n < 0) damaged("a string with a negative length");
                push(makeStr(bytes(static_cast<uint64_t>(n))));
                break;
            }
            case 'U': push(makeStr(bytes(u8()))); break;                 // SHORT_BINSTRING
            case 'B': push(makeStr(bytes(u32()), Kind::Bytes)); break;   // BINBYTES
            case 'C': push(makeStr(bytes(u8()), Kind::Bytes)); break;    // SHORT_BINBYTES
            case 0x8e: push(makeStr(bytes(u64()), Kind::Bytes)); break;  // BINBYTES8
            case '}': push(ctx_.make(Kind::Dict)); break;                // EMPTY_DICT
            case ']': push(ctx_.make(Kind::List)); break;                // EMPTY_LIST
            case ')': push(ctx_.make(Kind::Tuple)); break;               // EMPTY_TUPLE
            case 0x8f: push(ctx_.make(Kind::List)); break;               // EMPTY_SET (kept as a list)
            case 't': push(makeSeq(Kind::Tuple, popMark())); break;      // TUPLE
            case 'l': push(makeSeq(Kind::List, popMark())); break;       // LIST
            case 0x91: push(makeSeq(Kind::List, popMark())); break;      // FROZENSET
            case 0x85: {                                                 // TUPLE1
                Value* a = pop();
                push(makeSeq(Kind::Tuple, {a}));
                break;
            }
            case 0x86: {  // TUPLE2
                Value* b = pop();
                Value* a = pop();
                push(makeSeq(Kind::Tuple, {a, b}));
                break;
            }
            case 0x87: {  // TUPLE3
                Value* c = pop();
                Value* b = pop();
                Value* a = pop();
                push(makeSeq(Kind::Tuple, {a, b, c}));
                break;
            }
            case 'd': {  // DICT
                Value* d = ctx_.make(Kind::Dict);
                setItems(d, popMark());
                push(d);
                break;
            }
            case 's': {  // SETITEM
                Value* v = pop();
                Value* k = pop();
                setItems(top(), {k, v});
                break;
            }
            case 'u': {  // SETITEMS
                auto kv = popMark();
                setItems(top(), kv);
                break;
            }
            case 'a': {  // APPEND
                Value* v = pop();
                appendItems(top(), {v});
                break;
            }
            case 'e':     // APPENDS
            case 0x90: {  // ADDITEMS (sets are kept as lists)
                auto items = popMark();
                appendItems(top(), items);
                break;
            }
            case 'q': memoPut(u8()); break;           // BINPUT
            case 'r': memoPut(u32()); break;          // LONG_BINPUT
            case 0x94: memoPut(memo_.size()); break;  // MEMOIZE
            case 'h': push(memoGet(u8())); break;     // BINGET
            case 'j': push(memoGet(u32())); break;    // LONG_BINGET
            case 'c': {                               // GLOBAL
                std::string module = line();
                std::string name = line();
                push(global(module, name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Value* name = pop();
                Value* module = pop();
                if (name->kind != Kind::Str || module->kind != Kind::Str)
                    damaged("STACK_GLOBAL without a module and a name");
                push(global(module->s, name->s));
                break;
            }
            case 'Q': {  // BINPERSID
                Value* pid = pop();
                push(pers_(pid, opPos_));
                break;
            }
            case 'R': {  // REDUCE
                Value* args = pop();
                Value* callable = pop();
                push(reduce(callable, args));
                break;
            }
            case 0x81: {  // NEWOBJ: cls.__new__(cls, *args)
                Value* args = pop();
                Value* cls = pop();
                if (cls->kind != Kind::Global || static_cast<GlobalId>(cls->i) != GlobalId::OrderedDict)
                    damaged("NEWOBJ of '" + cls->s + "'");
                (void)args;
                push(ctx_.make(Kind::Dict));
                break;
            }
            case 'b':  // BUILD: sets attributes (OrderedDict._metadata, Parameter state); ignored
                pop();
                top();
                break;
            default: {
                char hex[8];
                std::snprintf(hex, sizeof hex, "0x%02x", op);
                std::string shown = (op >= 0x20 && op < 0x7f) ? std::string(" ('") + char(op) + "')" : "";
                fail(quoted(ctx_.file) + " uses pickle opcode " + hex + shown + " at byte " + std::to_string(opPos_) +
                     " of " + where_ +
                     ", which a state_dict written by torch.save does not use; the file is damaged or is not a "
                     "PyTorch weight file. Download it again, or " +
                     kResave + ".");
            }
        }
    }
}

// --------------------------------------------------------------- helpers

int64_t bytesPerElement(c10::ScalarType t) { return static_cast<int64_t>(c10::elementSize(t)); }

// Registers the storage named by a persistent id and returns its Value.
Value* storageFromPid(Context& ctx, Value* pid, const std::string& where, uint64_t at) {
    auto bad = [&](const std::string& what) {
        fail(quoted(ctx.file) + " is damaged: a tensor's storage reference " + what + " (pickle byte " +
             std::to_string(at) + " of " + where + "). Download or save the file again.");
    };
    const std::size_t want = ctx.legacy ? 6 : 5;
    if (pid->kind != Kind::Tuple || pid->items.size() < 5) bad("is not a tuple ('storage', type, key, location, size)");
    auto& it = pid->items;
    if (it[0]->kind != Kind::Str || it[0]->s != "storage") bad("does not start with 'storage'");
    if (it[1]->kind != Kind::Global || static_cast<GlobalId>(it[1]->i) != GlobalId::StorageType)
        bad("names no storage type");
    if (it[2]->kind != Kind::Str) bad("has a key that is not a string");
    if (it[4]->kind != Kind::Int || it[4]->i < 0) bad("has no valid element count");
    if (ctx.legacy && it.size() < want) bad("lacks the view field of the legacy format");
    const auto dtype = static_cast<c10::ScalarType>(it[1]->ref);
    const int64_t numel = it[4]->i;
    // (Legacy files are checked where the data is read, which gives the better message.)
    if (!ctx.legacy && numel > static_cast<int64_t>(ctx.fileSize / static_cast<uint64_t>(bytesPerElement(dtype))))
        fail(quoted(ctx.file) + " is damaged or truncated: storage '" + it[2]->s + "' declares " +
             std::to_string(numel) + " elements of " + std::to_string(bytesPerElement(dtype)) +
             " bytes, more than the whole file (" + std::to_string(ctx.fileSize) + " bytes) holds; " + kRedownload +
             ".");

    auto registerStorage = [&](const std::string& key, int64_t n) -> std::size_t {
        auto found = ctx.storageByKey.find(key);
        if (found != ctx.storageByKey.end()) {
            const StorageInfo& s = ctx.storages[found->second];
            if (s.dtype != dtype) bad("uses storage '" + key + "' with two different element types");
            return found->second;
        }
        StorageInfo s;
        s.key = key;
        s.dtype = dtype;
        s.numel = n;
        ctx.storages.push_back(std::move(s));
        ctx.storageByKey.emplace(key, ctx.storages.size() - 1);
        return ctx.storages.size() - 1;
    };
    std::size_t idx = registerStorage(it[2]->s, numel);

    if (ctx.legacy && it[5]->kind != Kind::None) {
        // (view_key, offset, view_size): a slice of the root storage.
        Value* view = it[5];
        if (view->kind != Kind::Tuple || view->items.size() != 3 || view->items[0]->kind != Kind::Str ||
            view->items[1]->kind != Kind::Int || view->items[2]->kind != Kind::Int || view->items[1]->i < 0 ||
            view->items[2]->i < 0)
            bad("has a malformed view field");
        const std::string& viewKey = view->items[0]->s;
        auto found = ctx.storageByKey.find(viewKey);
        if (found != ctx.storageByKey.end()) {
            idx = found->second;
        } else {
            StorageInfo s;
            s.key = viewKey;
            s.dtype = dtype;
            s.numel = view->items[2]->i;
            s.isView = true;
            s.root = idx;
            s.rootOffset = view->items[1]->i;
            ctx.storages.push_back(std::move(s));
            idx = ctx.storages.size() - 1;
            ctx.storageByKey.emplace(viewKey, idx);
        }
    }
    Value* v = ctx.make(Kind::Storage);
    v->ref = idx;
    return v;
}

std::string keyName(const Value* k) {
    if (k->kind == Kind::Str) return k->s;
    if (k->kind == Kind::Int) return std::to_string(k->i);
    return {};
}

// The (name, tensor index) pairs of the state dict, in order; later duplicates
// replace earlier values in place, as a Python dict does.
std::vector<std::pair<std::string, std::size_t>> extractTensors(const Context& ctx, const Value* top) {
    if (top->kind != Kind::Dict)
        fail(quoted(ctx.file) + " holds a " + kindName(top->kind) +
             " instead of a state_dict (a dict of parameter names to tensors); " + kResave + ".");
    auto collect = [](const Value* dict) {
        std::vector<std::pair<std::string, std::size_t>> out;
        std::unordered_map<std::string, std::size_t> pos;
        for (const auto& [k, v] : dict->entries) {
            if (v->kind != Kind::Tensor) continue;
            std::string name = keyName(k);
            if (name.empty() && k->kind != Kind::Str) continue;
            auto found = pos.find(name);
            if (found != pos.end()) {
                out[found->second].second = v->ref;
            } else {
                pos.emplace(name, out.size());
                out.emplace_back(std::move(name), v->ref);
            }
        }
        return out;
    };
    auto inner = [](const Value* dict, const char* wrapper) -> const Value* {
        const Value* found = nullptr;
        for (const auto& [k, v] : dict->entries)
            if (k->kind == Kind::Str && k->s == wrapper) found = v;  // last one wins
        return found && found->kind == Kind::Dict ? found : nullptr;
    };
    static const char* const kWrappers[] = {"state_dict", "model_state_dict", "model", "net", "weights"};
    auto listKeys = [&](const Value* dict) {
        std::string keys;
        std::size_t shown = 0;
        for (const auto& [k, v] : dict->entries) {
            if (shown == 8) {
                keys += ", ...";
                break;
            }
            keys += (shown++ ? ", " : "") + std::string("'") + keyName(k) + "'";
        }
        return keys;
    };
    if (!ctx.entry.empty()) {
        // An entry asked for by name (an EMA copy: "model_ema"), at the top or
        // nested one level; its own tensors or a usual wrapper inside it.
        const Value* chosen = inner(top, ctx.entry.c_str());
        for (const char* wrapper : kWrappers)
            if (!chosen && inner(top, wrapper)) chosen = inner(inner(top, wrapper), ctx.entry.c_str());
        if (!chosen)
            fail(quoted(ctx.file) + " has no entry '" + ctx.entry + "' (its keys: " + listKeys(top) +
                 "); name one of them in the descriptor's \"checkpoint_entry\", or leave it out");
        auto picked = collect(chosen);
        for (const char* wrapper : kWrappers)
            if (picked.empty() && inner(chosen, wrapper)) picked = collect(inner(chosen, wrapper));
        if (picked.empty())
            fail(quoted(ctx.file) + ": its entry '" + ctx.entry + "' holds no tensors (its keys: " + listKeys(chosen) +
                 ")");
        return picked;
    }
    auto out = collect(top);
    if (!out.empty() || top->entries.empty()) return out;
    // Training checkpoints: the weights under one of these keys, at the top or
    // nested one level ({"model": {"state_dict": {...}}}).
    for (const char* wrapper : kWrappers) {
        const Value* level1 = inner(top, wrapper);
        if (!level1) continue;
        out = collect(level1);
        if (!out.empty()) return out;
        for (const char* wrapper2 : kWrappers) {
            const Value* level2 = inner(level1, wrapper2);
            if (!level2) continue;
            out = collect(level2);
            if (!out.empty()) return out;
        }
    }
    fail(quoted(ctx.file) + " holds a dict without tensors (keys: " + listKeys(top) +
         ") and no 'state_dict', 'model_state_dict', 'model', 'net' or 'weights' entry with tensors; expected a "
         "state_dict mapping parameter names to "
         "tensors. " +
         kResaveCap + ".");
}

// Builds the output tensor for `ref` from its (loaded) storage.
torch::Tensor materialize(Context& ctx, const std::string& name, const TensorRef& ref,
                          const std::function<const torch::Tensor&(std::size_t root)>& rootData) {
    const StorageInfo& s = ctx.storages.at(ref.storage);
    auto bad = [&](const std::string& what) {
        fail(quoted(ctx.file) + " is damaged: tensor '" + name + "' " + what + "; download or save the file again.");
    };
    if (ref.offset < 0) bad("has a negative storage offset");
    int64_t numel = 1;
    for (std::size_t d = 0; d < ref.sizes.size(); ++d) {
        if (ref.sizes[d] < 0) bad("has a negative size");
        if (ref.strides[d] < 0) bad("has a negative stride");
        if (__builtin_mul_overflow(numel, ref.sizes[d], &numel)) bad("has more elements than fit in memory");
    }
    const auto options = torch::TensorOptions().dtype(s.dtype);
    if (numel == 0) return torch::empty(ref.sizes, options);

    // Where the storage lives: its root's data plus an element offset.
    std::size_t root = ref.storage;
    int64_t base = 0;
    const int64_t limit = s.numel;
    if (s.isView) {
        root = s.root;
        base = s.rootOffset;
        const StorageInfo& r = ctx.storages.at(root);
        if (base > r.numel || s.numel > r.numel - base)
            bad("uses a storage view that reaches past the end of its storage");
    }
    __int128 last = ref.offset;
    for (std::size_t d = 0; d < ref.sizes.size(); ++d) {
        const int64_t span = ref.sizes[d] - 1;
        if (span > 0 && ref.strides[d] > 0 && span > limit / ref.strides[d]) bad("reaches past the end of its storage");
        last += static_cast<__int128>(span) * ref.strides[d];
    }
    if (last >= limit)
        bad("needs element " + std::to_string(static_cast<int64_t>(last)) + " of a storage with " +
            std::to_string(limit) + " elements");

    // A state dict's tensors are never expansions of their storage (torch.save
    // keeps a parameter's own memory): a tensor may not have more elements than
    // its storage holds, so a few stored bytes cannot become gigabytes.
    for (std::size_t d = 0; d < ref.sizes.size(); ++d)
        if (ref.strides[d] == 0 && ref.sizes[d] > 1)
            bad("has stride 0 in dimension " + std::to_string(d) + " of size " + std::to_string(ref.sizes[d]) +
                " (it repeats stored elements instead of holding its own; expanded tensors are not weights)");
    if (numel > limit)
        bad("has " + std::to_string(numel) + " elements but its storage holds only " + std::to_string(limit) +
            " (its strides overlap)");
    const torch::Tensor& data = rootData(root);
    if (data.numel() < base + limit)
        bad("uses a storage with " + std::to_string(data.numel()) + " elements; it needs " +
            std::to_string(base + limit));
    torch::Tensor t = data.as_strided(ref.sizes, ref.strides, base + ref.offset);
    // A tensor that is exactly its whole storage keeps it; a view gets its own memory.
    if (!(base + ref.offset == 0 && numel == data.numel() && t.is_non_overlapping_and_dense())) {
        const uint64_t bytes = static_cast<uint64_t>(numel) * static_cast<uint64_t>(bytesPerElement(s.dtype));
        const uint64_t allowed = 2 * ctx.fileSize + kViewCopySlack;
        if (bytes > allowed - std::min(allowed, ctx.viewCopyBytes))
            fail(quoted(ctx.file) + " is not a plausible weight file: copying tensor '" + name +
                 "' out of the storage it shares would bring the copies made for shared storages to " +
                 std::to_string(ctx.viewCopyBytes + bytes) + " bytes, more than twice the file's size plus 1 GiB (" +
                 std::to_string(allowed) + " bytes), so Mirada refuses it to bound memory; " + kResave + ".");
        ctx.viewCopyBytes += bytes;
        t = t.clone(at::MemoryFormat::Contiguous);
    }
    return t;
}

// Bool storages from a file may hold bytes other than 0 and 1.
torch::Tensor sanitize(torch::Tensor data) {
    if (data.scalar_type() == c10::ScalarType::Bool) return data.view(c10::ScalarType::Byte).ne(0);
    return data;
}

// ------------------------------------------------------------------ zip

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool endsWith(const std::string& s, const std::string& p) {
    return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

bool looksLikeTorchScript(const std::vector<std::string>& names) {
    for (const auto& n : names) {
        if (startsWith(n, "code/") || n.find("/code/") != std::string::npos) return true;
        if (n == "constants.pkl" || endsWith(n, "/constants.pkl")) return true;
    }
    return false;
}

bool hasDataPkl(const std::vector<std::string>& names) {
    for (const auto& n : names)
        if (n == "data.pkl" || endsWith(n, "/data.pkl")) return true;
    return false;
}

std::string c10Message(const std::exception& e) {
    std::string m;
    if (auto* ce = dynamic_cast<const c10::Error*>(&e))
        m = ce->what_without_backtrace();
    else
        m = e.what();
    const auto nl = m.find('\n');
    if (nl != std::string::npos) m.resize(nl);
    return m;
}

// The sizes a zip archive's central directory declares for its records, read
// before anything is inflated. Keys are the names without the archive's top
// folder ("data.pkl", "data/0"), as PyTorchStreamReader names them. Empty when
// the directory cannot be parsed (openZip reports such archives).
struct ZipEntrySize {
    uint64_t compressed = 0;
    uint64_t uncompressed = 0;
};
std::unordered_map<std::string, ZipEntrySize> zipDeclaredSizes(const fs::path& file, uint64_t fileSize) {
    std::unordered_map<std::string, ZipEntrySize> out;
    std::ifstream in(file, std::ios::binary);
    if (!in || fileSize < 22) return out;
    auto readAt = [&](uint64_t pos, void* dst, std::size_t n) {
        if (pos > fileSize || n > fileSize - pos) return false;
        in.clear();
        in.seekg(static_cast<std::streamoff>(pos));
        return static_cast<bool>(in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n)));
    };
    auto le = [](const unsigned char* p, int n) {
        uint64_t v = 0;
        for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
        return v;
    };
    // End of central directory: within the last 64 KiB + 22 bytes.
    const uint64_t tailSize = std::min<uint64_t>(fileSize, 65557);
    std::vector<unsigned char> tail(static_cast<std::size_t>(tailSize));
    if (!readAt(fileSize - tailSize, tail.data(), tail.size())) return out;
    std::ptrdiff_t eocd = -1;
    for (std::ptrdiff_t k = static_cast<std::ptrdiff_t>(tail.size()) - 22; k >= 0; --k)
        if (le(&tail[static_cast<std::size_t>(k)], 4) == 0x06054b50u) {
            eocd = k;
            break;
        }
    if (eocd < 0) return out;
    const unsigned char* e = &tail[static_cast<std::size_t>(eocd)];
    uint64_t entries = le(e + 10, 2), cdSize = le(e + 12, 4), cdOffset = le(e + 16, 4);
    if (entries == 0xffff || cdSize == 0xffffffffu || cdOffset == 0xffffffffu) {  // zip64
        const uint64_t eocdPos = fileSize - tailSize + static_cast<uint64_t>(eocd);
        unsigned char loc[20], z[56];
        if (eocdPos < 20 || !readAt(eocdPos - 20, loc, 20) || le(loc, 4) != 0x07064b50u) return out;
        if (!readAt(le(loc + 8, 8), z, 56) || le(z, 4) != 0x06064b50u) return out;
        entries = le(z + 32, 8);
        cdSize = le(z + 40, 8);
        cdOffset = le(z + 48, 8);
    }
    if (cdOffset > fileSize || cdSize > fileSize - cdOffset) return out;
    std::vector<unsigned char> cd(static_cast<std::size_t>(cdSize));
    if (!readAt(cdOffset, cd.data(), cd.size())) return out;
    std::string prefix;
    std::size_t pos = 0;
    for (uint64_t n = 0; n < entries && pos + 46 <= cd.size(); ++n) {
        const unsigned char* h = &cd[pos];
        if (le(h, 4) != 0x02014b50u) break;
        ZipEntrySize sz{le(h + 20, 4), le(h + 24, 4)};
        const std::size_t nameLen = le(h + 28, 2), extraLen = le(h + 30, 2), commentLen = le(h + 32, 2);
        const uint64_t offset32 = le(h + 42, 4);
        if (pos + 46 + nameLen + extraLen > cd.size()) break;
        std::string name(reinterpret_cast<const char*>(h + 46), nameLen);
        // Zip64 extra field: 64-bit values for the fields that hold 0xffffffff, in this order.
        const unsigned char* x = h + 46 + nameLen;
        for (std::size_t xp = 0; xp + 4 <= extraLen;) {
            const uint64_t id = le(x + xp, 2), len = le(x + xp + 2, 2);
            if (xp + 4 + len > extraLen) break;
            if (id == 1) {
                std::size_t f = xp + 4;
                auto next = [&](uint64_t& v) {
                    if (v == 0xffffffffu && f + 8 <= xp + 4 + len) {
                        v = le(x + f, 8);
                        f += 8;
                    }
                };
                next(sz.uncompressed);
                next(sz.compressed);
                uint64_t off = offset32;
                next(off);
            }
            xp += 4 + static_cast<std::size_t>(len);
        }
        if (n == 0) prefix = name.substr(0, name.find('/') + 1);
        if (!prefix.empty() && startsWith(name, prefix)) name = name.substr(prefix.size());
        auto& slot = out[name];
        slot.compressed = std::max(slot.compressed, sz.compressed);
        slot.uncompressed = std::max(slot.uncompressed, sz.uncompressed);
        pos += 46 + nameLen + extraLen + commentLen;
    }
    return out;
}

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> openZip(const fs::path& file) {
    try {
        return std::make_unique<caffe2::serialize::PyTorchStreamReader>(file.string());
    } catch (const std::exception& e) {
        fail(quoted(file) + " is a zip archive but cannot be opened as a PyTorch weight file (" + c10Message(e) +
             "). It is probably truncated or damaged: " + kRedownload + ".");
    }
}

StateDict readZip(const fs::path& file, uint64_t fileSize, const std::string& entry) {
    // PyTorchStreamReader inflates the version record when it opens the archive.
    const auto declared = zipDeclaredSizes(file, fileSize);
    for (const char* v : {"version", ".data/version"}) {
        auto found = declared.find(v);
        if (found != declared.end() && found->second.uncompressed > 4096)
            fail(quoted(file) + " is damaged: its record '" + v + "' declares " +
                 std::to_string(found->second.uncompressed) +
                 " bytes where torch.save writes a few digits; download or save the file again.");
    }
    auto reader = openZip(file);
    Context ctx;
    ctx.entry = entry;
    ctx.file = file;
    ctx.fileSize = fileSize;
    ctx.legacy = false;
    try {
        // Every record is checked against its declared size before it is
        // inflated, and all of them together against kMaxZipExpansion x the file.
        const uint64_t budget = kMaxZipExpansion * fileSize;
        uint64_t inflated = 0;
        auto admit = [&](const std::string& record, uint64_t maxBytes, const std::string& why) {
            auto found = declared.find(record);
            if (found == declared.end())
                fail(quoted(file) + " is damaged: the zip directory gives no size for the record '" + record + "'; " +
                     kRedownload + ".");
            const uint64_t size = found->second.uncompressed;
            if (size > maxBytes)
                fail(quoted(file) + " is damaged: its record '" + record + "' declares " + std::to_string(size) +
                     " bytes, " + why + "; download or save the file again.");
            if (size > budget - inflated)
                fail(quoted(file) + " is not a plausible weight file: its records would inflate to more than " +
                     std::to_string(kMaxZipExpansion) + " times the file's " + std::to_string(fileSize) +
                     " bytes (record '" + record + "' declares " + std::to_string(size) +
                     " bytes; torch.save does not compress), so Mirada refuses it to bound memory; " +
                     "download or save the file again, or " + kResave + ".");
            inflated += size;
        };
        std::vector<std::string> names = reader->getAllRecords();
        if (looksLikeTorchScript(names))
            fail(quoted(file) +
                 " is a TorchScript archive (torch.jit.save), not a state_dict; load it as a "
                 "TorchScript model instead.");
        if (!reader->hasRecord("data.pkl"))
            fail(quoted(file) +
                 " is a zip archive without data.pkl, so it was not written by torch.save; "
                 "expected a PyTorch weight file (.pth). " +
                 kResaveCap + ".");
        if (reader->hasRecord("byteorder")) {
            admit("byteorder", 16, "more than a byte-order mark ('little' or 'big') needs");
            auto [ptr, n] = reader->getRecord("byteorder");
            std::string order(static_cast<const char*>(ptr.get()), n);
            if (order != "little")
                fail(quoted(file) + " was written on a big-endian machine (byteorder '" + order +
                     "'), which Mirada does not read; re-save it on a little-endian (x86/ARM) machine.");
        }

        admit("data.pkl", ~uint64_t{0}, "");
        auto [pklPtr, pklSize] = reader->getRecord("data.pkl");
        MemorySource src(pklPtr.get(), pklSize);
        Unpickler up(src, ctx, "data.pkl",
                     [&ctx](Value* pid, uint64_t at) { return storageFromPid(ctx, pid, "data.pkl", at); });
        Value* top = up.load();
        auto entries = extractTensors(ctx, top);

        auto rootData = [&](std::size_t idx) -> const torch::Tensor& {
            StorageInfo& s = ctx.storages[idx];
            if (s.loaded) return s.data;
            const std::string record = "data/" + s.key;
            if (!reader->hasRecord(record))
                fail(quoted(file) + " is damaged: the record '" + record + "' for storage '" + s.key +
                     "' is missing; download or save the file again.");
            const uint64_t esize = static_cast<uint64_t>(bytesPerElement(s.dtype));
            const uint64_t need = static_cast<uint64_t>(s.numel) * esize;
            // torch.save writes exactly the storage's bytes (less than one element more at most).
            admit(record, need + esize - 1,
                  "but storage '" + s.key + "' has " + std::to_string(s.numel) + " elements of " +
                      std::to_string(esize) + " bytes (" + std::to_string(need) + " bytes)");
            auto [ptr, n] = reader->getRecord(record);
            if (n < need)
                fail(quoted(file) + " is damaged: storage '" + s.key + "' needs " + std::to_string(need) +
                     " bytes but its record has " + std::to_string(n) + "; " + kRedownload + ".");
            auto owner = std::make_shared<at::DataPtr>(std::move(ptr));
            void* raw = owner->get();
            torch::Tensor t;
            if (s.numel == 0) {
                t = torch::empty({0}, torch::TensorOptions().dtype(s.dtype));
            } else {
                t = torch::from_blob(
                    raw, {s.numel}, [owner](void*) mutable { owner.reset(); }, torch::TensorOptions().dtype(s.dtype));
            }
            s.data = sanitize(t);
            s.loaded = true;
            return s.data;
        };

        StateDict out;
        out.reserve(entries.size());
        for (auto& [name, ti] : entries) out.push_back({name, materialize(ctx, name, ctx.tensors[ti], rootData)});
        return out;
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        fail(quoted(file) + " asks for more memory than is available; it is probably damaged — " + kRedownload + ".");
    } catch (const std::exception& e) {
        fail(quoted(file) + " cannot be read: " + c10Message(e) +
             ". It is probably truncated or damaged: " + kRedownload + ".");
    }
}

// ---------------------------------------------------------------- legacy

StateDict readLegacy(const fs::path& file, uint64_t fileSize, const std::string& entry) {
    Context ctx;
    ctx.entry = entry;
    ctx.file = file;
    ctx.fileSize = fileSize;
    ctx.legacy = true;
    FileSource src(file, fileSize);
    auto noPid = [&ctx](Value*, uint64_t at) -> Value* {
        fail(quoted(ctx.file) + " is damaged: a header pickle refers to a storage (byte " + std::to_string(at) +
             "); download or save the file again.");
    };
    try {
        Value* magic = Unpickler(src, ctx, "the file", noPid).load();
        const std::string expected(reinterpret_cast<const char*>(kLegacyPrefix) + 4, 10);
        if (magic->kind != Kind::BigInt || magic->s != expected)
            fail(quoted(file) +
                 " is a Python pickle but not a PyTorch weight file (no torch.save magic number); "
                 "expected a .pth written by torch.save. " +
                 kResaveCap + ".");
        Value* version = Unpickler(src, ctx, "the file", noPid).load();
        if (version->kind != Kind::Int || version->i != kLegacyProtocolVersion)
            fail(quoted(file) + " uses legacy torch.save protocol version " +
                 (version->kind == Kind::Int ? std::to_string(version->i) : std::string("?")) + ", expected 1001; " +
                 kResave + " with a current PyTorch.");
        Value* sysInfo = Unpickler(src, ctx, "the file", noPid).load();
        if (sysInfo->kind == Kind::Dict)
            for (const auto& [k, v] : sysInfo->entries)
                if (k->kind == Kind::Str && k->s == "little_endian" && v->kind == Kind::Bool && !v->i)
                    fail(quoted(file) +
                         " was written on a big-endian machine, which Mirada does not read; "
                         "re-save it on a little-endian (x86/ARM) machine.");

        Value* top = Unpickler(src, ctx, "the file", [&ctx](Value* pid, uint64_t at) {
                         return storageFromPid(ctx, pid, "the file", at);
                     }).load();
        auto entries = extractTensors(ctx, top);

        // Which root storages the output needs; others are skipped, not read.
        std::vector<char> needed(ctx.storages.size(), 0);
        for (const auto& [name, ti] : entries) {
            const StorageInfo& s = ctx.storages[ctx.tensors[ti].storage];
            needed[s.isView ? s.root : ctx.tensors[ti].storage] = 1;
        }

        Value* keys = Unpickler(src, ctx, "the file", noPid).load();
        if (keys->kind != Kind::List && keys->kind != Kind::Tuple)
            fail(quoted(file) + " is damaged: the list of storage keys is a " + kindName(keys->kind) +
                 "; download or save the file again.");
        for (std::size_t n = 0; n < keys->items.size(); ++n) {
            Value* k = keys->items[n];
            auto found = k->kind == Kind::Str ? ctx.storageByKey.find(k->s) : ctx.storageByKey.end();
            if (found == ctx.storageByKey.end() || ctx.storages[found->second].isView)
                fail(quoted(file) + " is damaged: storage " + std::to_string(n) +
                     " in the data section is not used by any tensor; download or save the file again.");
            StorageInfo& s = ctx.storages[found->second];
            const uint64_t at = src.pos();
            unsigned char hdr[8];
            if (!src.read(hdr, 8))
                fail(quoted(file) + " is truncated: storage " + std::to_string(n) + " starts at offset " +
                     std::to_string(at) + " but the file has only " + std::to_string(fileSize) + " bytes; " +
                     kRedownload + ".");
            uint64_t count = 0;
            for (int b = 7; b >= 0; --b) count = (count << 8) | hdr[b];
            const uint64_t esize = static_cast<uint64_t>(bytesPerElement(s.dtype));
            if (count > src.remaining() / esize) {
                const std::string needBytes = count > (uint64_t{1} << 62) / esize
                                                  ? std::to_string(count) + " elements of " + std::to_string(esize)
                                                  : std::to_string(count * esize);
                fail(quoted(file) + " is truncated: storage " + std::to_string(n) + " of " +
                     std::to_string(keys->items.size()) + " needs " + needBytes + " bytes at offset " +
                     std::to_string(src.pos()) + ", the file has " + std::to_string(fileSize) + " bytes; " +
                     kRedownload + ".");
            }
            if (static_cast<int64_t>(count) < s.numel)
                fail(quoted(file) + " is damaged: storage " + std::to_string(n) + " holds " + std::to_string(count) +
                     " elements but its tensors expect " + std::to_string(s.numel) +
                     "; download or save the file again.");
            const uint64_t nbytes = count * esize;
            if (needed[found->second] && !s.loaded) {
                torch::Tensor t = torch::empty({static_cast<int64_t>(count)}, torch::TensorOptions().dtype(s.dtype));
                if (nbytes > 0 && !src.read(t.data_ptr(), static_cast<std::size_t>(nbytes)))
                    fail(quoted(file) + " could not be read at offset " + std::to_string(at) +
                         " (it may have changed while being read); try again.");
                s.data = sanitize(t);
                s.loaded = true;
            } else if (!src.skip(nbytes)) {
                fail(quoted(file) + " could not be read at offset " + std::to_string(at) + "; try again.");
            }
        }

        auto rootData = [&](std::size_t idx) -> const torch::Tensor& {
            StorageInfo& s = ctx.storages[idx];
            if (!s.loaded)
                fail(quoted(file) + " is damaged: storage '" + s.key +
                     "' is used by a tensor but has no data in the file; download or save the file again.");
            return s.data;
        };
        StateDict out;
        out.reserve(entries.size());
        for (auto& [name, ti] : entries) out.push_back({name, materialize(ctx, name, ctx.tensors[ti], rootData)});
        return out;
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        fail(quoted(file) + " asks for more memory than is available; it is probably damaged — " + kRedownload + ".");
    } catch (const std::exception& e) {
        fail(quoted(file) + " cannot be read: " + c10Message(e) +
             ". It is probably truncated or damaged: " + kRedownload + ".");
    }
}

// Names of the records in a zip archive. Uses PyTorch's reader when the
// archive opens; otherwise walks the local file headers as far as they go (a
// truncated archive has no central directory).
std::vector<std::string> zipRecordNames(const fs::path& file, uint64_t fileSize) {
    try {
        caffe2::serialize::PyTorchStreamReader reader(file.string());
        return reader.getAllRecords();
    } catch (const std::exception&) {
    }
    std::vector<std::string> names;
    std::ifstream in(file, std::ios::binary);
    uint64_t pos = 0;
    for (int n = 0; n < 100000 && in && pos + 30 <= fileSize; ++n) {
        unsigned char h[30];
        in.seekg(static_cast<std::streamoff>(pos));
        if (!in.read(reinterpret_cast<char*>(h), 30)) break;
        auto le16 = [&](int o) { return static_cast<uint32_t>(h[o] | (h[o + 1] << 8)); };
        auto le32 = [&](int o) { return le16(o) | (le16(o + 2) << 16); };
        if (le32(0) != 0x04034b50u) break;
        const uint32_t flags = le16(6), comp = le32(18), nameLen = le16(26), extraLen = le16(28);
        std::string name(nameLen, '\0');
        if (!in.read(name.data(), nameLen)) break;
        names.push_back(name);
        if ((flags & 8) || comp == 0xffffffffu) break;  // sizes not in the local header
        pos += 30 + nameLen + extraLen + comp;
    }
    return names;
}

// True when the file starts with the legacy magic number: the usual protocol-2
// prefix, or (torch.save(..., pickle_protocol=4)) a first pickle that holds it.
bool isLegacyHeader(const unsigned char* head, std::size_t got) {
    if (got >= sizeof kLegacyPrefix && std::memcmp(head, kLegacyPrefix, sizeof kLegacyPrefix) == 0) return true;
    if (got < 2 || head[0] != 0x80 || head[1] < 2 || head[1] > 5) return false;
    try {
        Context ctx;
        MemorySource src(head, got);
        Value* v = Unpickler(src, ctx, "the header", [](Value*, uint64_t) -> Value* {
                       fail("a persistent id in the header");
                   }).load();
        return v->kind == Kind::BigInt && v->s == std::string(reinterpret_cast<const char*>(kLegacyPrefix) + 4, 10);
    } catch (const std::exception&) {
        return false;
    }
}

}  // namespace

std::string toString(WeightFileFormat format) {
    switch (format) {
        case WeightFileFormat::PickleZip: return "pickle-zip";
        case WeightFileFormat::PickleLegacy: return "pickle-legacy";
        case WeightFileFormat::TorchScript: return "torchscript";
        case WeightFileFormat::Unknown: return "unknown";
    }
    return "unknown";
}

WeightFileFormat sniffWeightFileFormat(const std::filesystem::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return WeightFileFormat::Unknown;
    const uint64_t size = fs::file_size(file, ec);
    if (ec || size == 0) return WeightFileFormat::Unknown;
    std::ifstream in(file, std::ios::binary);
    unsigned char head[64] = {};
    in.read(reinterpret_cast<char*>(head), sizeof head);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got >= 4 && head[0] == 'P' && head[1] == 'K' &&
        ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
        try {
            const auto names = zipRecordNames(file, size);
            if (looksLikeTorchScript(names)) return WeightFileFormat::TorchScript;
            if (hasDataPkl(names)) return WeightFileFormat::PickleZip;
        } catch (const std::exception&) {
        }
        return WeightFileFormat::Unknown;
    }
    if (isLegacyHeader(head, got)) return WeightFileFormat::PickleLegacy;
    return WeightFileFormat::Unknown;
}

StateDict readStateDict(const std::filesystem::path& file, const std::string& entry) {
    std::error_code ec;
    const auto status = fs::status(file, ec);
    if (ec || !fs::exists(status)) fail("The weight file " + quoted(file) + " does not exist; check the path.");
    if (fs::is_directory(status))
        fail(quoted(file) + " is a folder, not a weight file; give the path of the .pth file inside it.");
    const uint64_t size = fs::file_size(file, ec);
    if (ec)
        fail("Cannot read the size of " + quoted(file) + ": " + ec.message() + "; check that it is a readable file.");
    if (size == 0)
        fail(quoted(file) + " is empty (0 bytes); expected a PyTorch weight file (.pth). If it was downloaded, " +
             kRedownload + ".");
    if (!isLittleEndianHost())
        fail("Reading " + quoted(file) +
             " needs a little-endian machine; Mirada's weight reader does not run on "
             "big-endian hardware.");

    unsigned char head[512] = {};
    std::size_t got = 0;
    {
        std::ifstream in(file, std::ios::binary);
        if (!in) fail("Cannot open " + quoted(file) + " for reading; check that the file is readable.");
        in.read(reinterpret_cast<char*>(head), sizeof head);
        got = static_cast<std::size_t>(in.gcount());
    }
    const std::string text(reinterpret_cast<const char*>(head), got);

    if (got >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return readZip(file, size, entry);
    if (got >= 4 && head[0] == 'P' && head[1] == 'K')
        fail(quoted(file) + " is an empty or damaged zip archive; expected a PyTorch weight file — " + kRedownload +
             ".");
    if (isLegacyHeader(head, got)) return readLegacy(file, size, entry);

    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto firstNonSpace = lower.find_first_not_of(" \t\r\n");
    std::string why;
    if (firstNonSpace != std::string::npos &&
        (startsWith(lower.substr(firstNonSpace), "<!doctype html") || startsWith(lower.substr(firstNonSpace), "<html")))
        why =
            " It is a web page (HTML): the download link probably returned an error page; download the file "
            "again from a working link.";
    else if (startsWith(text, "version https://git-lfs"))
        why = " It is a Git LFS pointer, not the file itself; run 'git lfs pull' or download the file directly.";
    else if (got > 262 && text.compare(257, 5, "ustar") == 0)
        why =
            " It is a tar archive, the very old torch.save format from before PyTorch 0.4; load it with an old "
            "PyTorch and " +
            std::string(kResave) + ".";
    else if (got >= 2 && head[0] == 0x80 && head[1] <= 5)
        why = std::string(
                  " It is a Python pickle without torch.save's header; expected a file written by "
                  "torch.save. ") +
              kResaveCap + ".";
    else if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        why = " It is gzip-compressed; decompress it first (gunzip).";
    else
        why = " If it was downloaded, it may be incomplete or an error message — download it again.";
    fail(quoted(file) +
         " is not a PyTorch weight file: it is neither a zip archive (torch.save since PyTorch 1.6) "
         "nor the legacy torch.save format." +
         why);
}

}  // namespace mirada
