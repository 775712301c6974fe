// embed_tagger.cpp — the C API from C++: a small RAII wrapper (unique_ptr deleters,
// exceptions carrying the e2e_error message) and the same embed pattern as embed_tagger.c.
//
// Build:  g++ -std=c++17 embed_tagger.cpp $(pkg-config --cflags --libs e2e) -o embed_tagger_cxx
// (tests/cxx_example.test.sh builds it against include/ and build/libe2e.a.)
// Usage:  embed_tagger_cxx [model.onnx]   (default $SHARED/models/eg_simplenet_trained/model.onnx)
#include <e2e.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace e2e {

// Every failing call becomes an exception with the library's message and status.
struct Error : std::runtime_error {
    e2e_status status;
    explicit Error(const e2e_error &e) : std::runtime_error(e.message), status(e.status) {}
};

inline void check(e2e_status st, e2e_error &err)
{
    if (st != E2E_OK) {
        err.status = st;
        throw Error(err);
    }
}

struct ModelDeleter {
    void operator()(e2e_model *m) const noexcept { e2e_model_free(m); }
};
struct SessionDeleter {
    void operator()(e2e_session *s) const noexcept { e2e_session_free(s); }
};

// Immutable after loading: share it (by const reference) between threads and sessions.
// It must outlive every Session made from it — declare it first, C++ destroys in reverse.
class Model {
public:
    static Model from_file(const std::string &path)
    {
        e2e_error err{};
        e2e_model *m = nullptr;
        check(e2e_model_load_file(path.c_str(), &m, &err), err);
        return Model(m);
    }
    static Model from_buffer(const std::vector<char> &bytes, const std::string &name)
    {
        e2e_error err{};
        e2e_model *m = nullptr;
        check(e2e_model_load_buffer(bytes.data(), bytes.size(), name.c_str(), &m, &err), err);
        return Model(m);
    }
    const e2e_model *get() const { return p_.get(); }
    std::string input_name(int i = 0) const
    {
        e2e_tensor_view v{};
        if (e2e_model_input(p_.get(), i, &v) != E2E_OK)
            throw std::out_of_range("no such model input");
        return v.name;
    }

private:
    explicit Model(e2e_model *m) : p_(m) {}
    std::unique_ptr<e2e_model, ModelDeleter> p_;
};

// One per thread. Shapes are bound here; run() allocates nothing.
class Session {
public:
    Session(const Model &model, const std::string &input, std::vector<int64_t> dims,
            int threads = 1)
        : input_(input), dims_(std::move(dims))
    {
        e2e_shape_binding b{input_.c_str(), static_cast<int>(dims_.size()), dims_.data()};
        e2e_session_options o = e2e_session_options_default();
        o.shapes = &b;
        o.n_shapes = 1;
        o.threads = threads;
        e2e_error err{};
        e2e_session *s = nullptr;
        check(e2e_session_create(model.get(), &o, &s, &err), err);
        p_.reset(s);
    }

    // Runs on a caller-owned buffer of the bound shape; returns a view of output 0
    // that stays valid until the next run.
    const float *run(std::vector<float> &input)
    {
        e2e_tensor_view in = e2e_tensor_view_f32(input_.c_str(), input.data(),
                                                 static_cast<int>(dims_.size()), dims_.data());
        e2e_error err{};
        check(e2e_session_run(p_.get(), &in, 1, &err), err);
        e2e_tensor_view out{};
        e2e_session_output(p_.get(), 0, &out);
        return static_cast<const float *>(out.data);
    }

private:
    std::string input_;
    std::vector<int64_t> dims_;
    std::unique_ptr<e2e_session, SessionDeleter> p_;
};

} // namespace e2e

int main(int argc, char **argv)
{
    const int batch = 4, h = 32, w = 32;
    std::string path = argc > 1 ? argv[1]
                                : std::string(std::getenv("SHARED") ? std::getenv("SHARED")
                                                                    : "../shared") +
                                      "/models/eg_simplenet_trained/model.onnx";
    // Start-up: the only file access.
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        std::printf("skipped: %s not found\n", path.c_str());
        return 0;
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    try {
        const e2e::Model model = e2e::Model::from_buffer(bytes, path);
        e2e::Session session(model, model.input_name(), {batch, 1, h, w});
        std::vector<float> frames(static_cast<size_t>(batch) * h * w);

        for (int ev = 0; ev < 2; ev++) {
            // One shower per frame: energy E around the centre crystal.
            for (int k = 0; k < batch; k++) {
                float e = 10.0f + 20.0f * k + 5.0f * ev, sum = 0.0f;
                float *fr = &frames[static_cast<size_t>(k) * h * w];
                for (int r = 0; r < h; r++)
                    for (int c = 0; c < w; c++) {
                        int d2 = (r - 16) * (r - 16) + (c - 16) * (c - 16);
                        fr[r * w + c] = std::exp(-d2 / 1.62f); // Gaussian, sigma 0.9 crystal
                        sum += fr[r * w + c];
                    }
                for (int i = 0; i < h * w; i++)
                    fr[i] *= e / sum;
            }
            const float *score = session.run(frames);
            for (int k = 0; k < batch; k++)
                std::printf("event %d seed %d: score = %.4g\n", ev, k, score[k]);
        }
    } catch (const e2e::Error &e) {
        std::fprintf(stderr, "embed_tagger_cxx: %s (%s)\n", e.what(), e2e_status_name(e.status));
        return 1;
    }
    return 0;
}
