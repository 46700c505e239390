#include "TestPipelines.h"

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace harl_test {

using namespace Halide;

namespace {

Buffer<> random_buffer(Type t, const std::vector<int> &sizes, int seed) {
    Buffer<> b(t, sizes);
    std::mt19937 rng(seed);
    b.for_each_element([&](const int *pos) {
        uint32_t r = rng();
        void *p = b.raw_buffer()->address_of(pos);
        if (t == Float(32))
            *(float *)p = (r % 10000) / 10000.0f;
        else if (t == Float(64))
            *(double *)p = (r % 10000) / 10000.0;
        else if (t == UInt(8))
            *(uint8_t *)p = (uint8_t)r;
        else if (t == UInt(16))
            *(uint16_t *)p = (uint16_t)(r % 4096);
        else if (t == Int(8))
            *(int8_t *)p = (int8_t)r;
        else if (t == Int(16))
            *(int16_t *)p = (int16_t)(r % 2000 - 1000);
        else if (t == Int(32))
            *(int32_t *)p = (int32_t)(r % 20000) - 10000;
        else if (t == UInt(32))
            *(uint32_t *)p = r % 100000;
        else
            throw std::runtime_error("random_buffer: unsupported type");
    });
    return b;
}

struct Builder {
    BuiltPipeline b;
    int seed = 1;
    ImageParam input(Type t, const std::vector<int> &sizes, const std::string &name) {
        ImageParam p(t, (int)sizes.size(), name);
        Region est;
        for (int s : sizes)
            est.push_back({0, s});
        p.set_estimates(est);
        Buffer<> buf = random_buffer(t, sizes, seed++);
        p.set(buf);
        b.params.push_back(p);
        b.inputs.push_back(buf);
        return p;
    }
    void output(Func f, const std::vector<int> &sizes) {
        Region est;
        for (int s : sizes)
            est.push_back({0, s});
        f.set_estimates(est);
        b.outputs.push_back(f);
        b.sizes.push_back(sizes);
    }
};

Var x("x"), y("y"), c("c"), n("n");

std::vector<PipelineCase> make_corpus() {
    std::vector<PipelineCase> cs;
    auto add = [&](const std::string &name, std::function<void(Builder &)> fn) {
        cs.push_back({name, [fn] {
                          Builder bl;
                          fn(bl);
                          return bl.b;
                      }});
    };
    add("pointwise_chain_f32", [](Builder &b) {
        ImageParam in = b.input(Float(32), {67, 45}, "in");
        Func f("f"), g("g"), h("h");
        f(x, y) = in(x, y) * 2.0f + 1.0f;
        g(x, y) = sqrt(f(x, y)) - f(x, y) * 0.5f;
        h(x, y) = g(x, y) * g(x, y);
        b.output(h, {67, 45});
    });
    add("pointwise_u8_u16", [](Builder &b) {
        ImageParam in = b.input(UInt(8), {130, 40}, "in");
        Func f("f"), g("g");
        f(x, y) = cast<uint16_t>(in(x, y)) * 3 + 7;
        g(x, y) = cast<uint8_t>(min(f(x, y) / 3, 255));
        b.output(g, {130, 40});
    });
    add("separable_blur_repeat_edge", [](Builder &b) {
        ImageParam in = b.input(Float(32), {100, 80}, "in");
        Func cl = BoundaryConditions::repeat_edge(in);
        Func bx("bx"), by("by");
        bx(x, y) = (cl(x - 1, y) + cl(x, y) + cl(x + 1, y)) / 3.0f;
        by(x, y) = (bx(x, y - 1) + bx(x, y) + bx(x, y + 1)) / 3.0f;
        b.output(by, {100, 80});
    });
    add("blur_u16_constant_exterior", [](Builder &b) {
        ImageParam in = b.input(UInt(16), {64, 64}, "in");
        Func cl = BoundaryConditions::constant_exterior(in, cast<uint16_t>(0));
        Func bx("bx"), by("by");
        bx(x, y) = (cl(x - 1, y) + 2 * cl(x, y) + cl(x + 1, y)) / 4;
        by(x, y) = (bx(x, y - 1) + 2 * bx(x, y) + bx(x, y + 1)) / 4;
        b.output(by, {64, 64});
    });
    add("box5x5_mirror_i32", [](Builder &b) {
        ImageParam in = b.input(Int(32), {50, 50}, "in");
        Func cl = BoundaryConditions::mirror_image(in);
        RDom r(-2, 5, -2, 5);
        Func box("box");
        box(x, y) = sum(cl(x + r.x, y + r.y));
        b.output(box, {50, 50});
    });
    add("row_sum_reduction", [](Builder &b) {
        ImageParam in = b.input(Float(32), {200, 30}, "in");
        Func s("s");
        RDom r(0, 200);
        s(y) = 0.0f;
        s(y) += in(r, y);
        b.output(s, {30});
    });
    add("matmul", [](Builder &b) {
        ImageParam A = b.input(Float(32), {64, 48}, "A"); // A(k, i)
        ImageParam B = b.input(Float(32), {40, 64}, "B"); // B(j, k)
        Func C("C");
        RDom k(0, 64);
        C(x, y) = 0.0f;
        C(x, y) += A(k, y) * B(x, k);
        b.output(C, {40, 48});
    });
    add("conv_bias_relu", [](Builder &b) {
        ImageParam in = b.input(Float(32), {16, 20, 20}, "in"); // (ci, x, y)
        ImageParam w = b.input(Float(32), {16, 16, 3, 3}, "w"); // (co, ci, kx, ky)
        ImageParam bias = b.input(Float(32), {16}, "bias");
        Func conv("conv"), relu("relu");
        RDom r(0, 16, 0, 3, 0, 3);
        conv(c, x, y) = bias(c);
        conv(c, x, y) += w(c, r.x, r.y, r.z) * in(r.x, x + r.y, y + r.z);
        relu(c, x, y) = max(conv(c, x, y), 0.0f);
        b.output(relu, {16, 18, 18});
    });
    // Fewer channels than an AVX-512 vector has lanes (narrower vectors, rp2-s110509's shape).
    add("conv_4_to_12_channels", [](Builder &b) {
        ImageParam in = b.input(Float(32), {4, 26, 22}, "in"); // (ci, x, y)
        ImageParam w = b.input(Float(32), {12, 4, 3, 3}, "w"); // (co, ci, kx, ky)
        Func conv("conv");
        RDom r(0, 4, 0, 3, 0, 3);
        conv(c, x, y) = 0.0f;
        conv(c, x, y) += w(c, r.x, r.y, r.z) * in(r.x, x + r.y, y + r.z);
        b.output(conv, {12, 24, 20});
    });
    add("depthwise_stride2", [](Builder &b) {
        ImageParam in = b.input(Float(32), {24, 33, 33}, "in");
        ImageParam w = b.input(Float(32), {24, 3, 3}, "w");
        Func dw("dw");
        RDom r(0, 3, 0, 3);
        dw(c, x, y) = 0.0f;
        dw(c, x, y) += in(c, 2 * x + r.x, 2 * y + r.y) * w(c, r.x, r.y);
        b.output(dw, {24, 16, 16});
    });
    add("maxpool_3x3_s2", [](Builder &b) {
        ImageParam in = b.input(Float(32), {8, 31, 31}, "in");
        Func pool("pool");
        RDom r(0, 3, 0, 3);
        pool(c, x, y) = maximum(in(c, 2 * x + r.x, 2 * y + r.y));
        b.output(pool, {8, 15, 15});
    });
    add("softmax_rows", [](Builder &b) {
        ImageParam in = b.input(Float(32), {100, 20}, "in");
        Func mx("mx"), e("e"), s("s"), sm("sm");
        RDom r(0, 100);
        mx(y) = maximum(in(r, y));
        e(x, y) = exp(in(x, y) - mx(y));
        s(y) = sum(e(r, y));
        sm(x, y) = e(x, y) / s(y);
        b.output(sm, {100, 20});
    });
    add("histogram", [](Builder &b) {
        ImageParam in = b.input(UInt(8), {64, 32}, "in");
        Func hist("hist");
        RDom r(0, 64, 0, 32);
        hist(x) = 0;
        hist(cast<int>(in(r.x, r.y))) += 1;
        b.output(hist, {256});
    });
    add("histogram_equalize", [](Builder &b) {
        ImageParam in = b.input(UInt(8), {64, 48}, "in");
        Func hist("hist"), cdf("cdf"), eq("eq");
        RDom r(0, 64, 0, 48);
        hist(x) = 0;
        hist(cast<int>(in(r.x, r.y))) += 1;
        RDom s(1, 255);
        cdf(x) = hist(x);
        cdf(s) = cdf(s - 1) + hist(s);
        eq(x, y) = cast<uint8_t>(cdf(cast<int>(in(x, y))) * 255 / (64 * 48));
        b.output(eq, {64, 48});
    });
    add("prefix_sum_1d", [](Builder &b) {
        ImageParam in = b.input(Int(32), {500}, "in");
        Func ps("ps");
        RDom r(1, 499);
        ps(x) = in(x);
        ps(r) = ps(r - 1) + in(r);
        b.output(ps, {500});
    });
    add("scan_rows_2d", [](Builder &b) {
        ImageParam in = b.input(Float(32), {60, 40}, "in");
        Func sc("sc");
        RDom r(1, 59);
        sc(x, y) = in(x, y);
        sc(r, y) = sc(r - 1, y) * 0.5f + in(r, y);
        b.output(sc, {60, 40});
    });
    add("several_updates", [](Builder &b) {
        ImageParam in = b.input(Int(32), {70, 20}, "in");
        Func f("f"), g("g");
        RDom r(0, 70);
        f(x, y) = in(x, y);
        f(x, y) = f(x, y) * 2 + 1;
        f(r, y) = f(r, y) + r;
        f(x, y) = f(x, y) - in(x, 0);
        g(x, y) = f(x, y) + f(69 - x, y);
        b.output(g, {70, 20});
    });
    add("two_outputs_shared_producer", [](Builder &b) {
        ImageParam in = b.input(Float(32), {80, 60}, "in");
        Func p("p"), o1("o1"), o2("o2");
        p(x, y) = in(x, y) * in(x, y) + 1.0f;
        o1(x, y) = p(x, y) + p(x + 1, y);
        o2(x, y) = p(x, y) * 2.0f - p(x, y + 1);
        b.output(o1, {79, 60});
        b.output(o2, {80, 59});
    });
    add("diamond_many_consumers", [](Builder &b) {
        ImageParam in = b.input(Float(32), {90, 70}, "in");
        Func a("a"), l("l"), r("r"), m("m"), out("out");
        a(x, y) = in(x, y) + in(x + 1, y + 1);
        l(x, y) = a(x, y) * 2.0f;
        r(x, y) = a(x + 1, y) - a(x, y + 1);
        m(x, y) = a(x, y) / (1.0f + a(x, y) * a(x, y));
        out(x, y) = l(x, y) + r(x, y) + m(x, y);
        b.output(out, {88, 68});
    });
    add("param_with_estimate", [](Builder &b) {
        ImageParam in = b.input(Float(32), {64, 64}, "in");
        Param<float> gain("gain");
        gain.set_estimate(2.0f);
        gain.set(1.5f);
        Func f("f"), g("g");
        f(x, y) = in(x, y) * gain;
        g(x, y) = f(x, y) + f(x + 1, y) * gain;
        b.output(g, {63, 64});
    });
    add("types_i8_u32_f64", [](Builder &b) {
        ImageParam a = b.input(Int(8), {40, 30}, "a");
        ImageParam u = b.input(UInt(32), {40, 30}, "u");
        ImageParam d = b.input(Float(64), {40, 30}, "d");
        Func f("f"), g("g");
        f(x, y) = cast<double>(a(x, y)) * d(x, y) + cast<double>(u(x, y) % 17);
        g(x, y) = cast<float>(f(x, y) * Expr(0.25));
        b.output(g, {40, 30});
    });
    add("types_i16_saturating", [](Builder &b) {
        ImageParam a = b.input(Int(16), {128, 16}, "a");
        Func f("f"), g("g");
        f(x, y) = cast<int16_t>(clamp(cast<int32_t>(a(x, y)) * 3, -32768, 32767));
        g(x, y) = f(x, y) / 2 + f(x + 1, y) / 2;
        b.output(g, {127, 16});
    });
    add("upsample_nearest", [](Builder &b) {
        ImageParam in = b.input(Float(32), {32, 32}, "in");
        Func up("up"), o("o");
        up(x, y) = in(x / 2, y / 2);
        o(x, y) = up(x, y) * 0.5f + up(x + 1, y) * 0.5f;
        b.output(o, {62, 64});
    });
    add("downsample_avg", [](Builder &b) {
        ImageParam in = b.input(Float(32), {96, 64}, "in");
        Func down("down");
        down(x, y) =
            (in(2 * x, 2 * y) + in(2 * x + 1, 2 * y) + in(2 * x, 2 * y + 1) + in(2 * x + 1, 2 * y + 1)) *
            0.25f;
        b.output(down, {48, 32});
    });
    add("transpose", [](Builder &b) {
        ImageParam in = b.input(Float(32), {50, 70}, "in");
        Func t("t"), o("o");
        t(x, y) = in(y, x) + 1.0f;
        o(x, y) = t(x, y) * t(x, y);
        b.output(o, {70, 50});
    });
    add("tuple_argmax", [](Builder &b) {
        ImageParam in = b.input(Float(32), {100, 12}, "in");
        Func am("am");
        RDom r(0, 100);
        am(y) = Tuple(0, in(0, y));
        am(y) = tuple_select(in(r, y) > am(y)[1], Tuple(r.x, in(r, y)), am(y));
        b.output(am, {12});
    });
    add("piecewise_select", [](Builder &b) {
        ImageParam in = b.input(Float(32), {77, 33}, "in");
        Func f("f");
        f(x, y) =
            select(in(x, y) < 0.3f, in(x, y) * 2.0f, in(x, y) < 0.7f, 1.0f - in(x, y), in(x, y) * in(x, y));
        b.output(f, {77, 33});
    });
    add("channel_reduction_3d", [](Builder &b) {
        ImageParam in = b.input(Float(32), {40, 30, 8}, "in");
        Func s("s"), o("o");
        RDom r(0, 8);
        s(x, y) = sum(in(x, y, r));
        o(x, y) = s(x, y) / 8.0f;
        b.output(o, {40, 30});
    });
    add("unsharp_mask", [](Builder &b) {
        ImageParam in = b.input(Float(32), {70, 60}, "in");
        Func cl = BoundaryConditions::repeat_edge(in);
        Func bx("bx"), by("by"), sharp("sharp");
        bx(x, y) = (cl(x - 2, y) + cl(x - 1, y) * 4 + cl(x, y) * 6 + cl(x + 1, y) * 4 + cl(x + 2, y)) / 16.0f;
        by(x, y) = (bx(x, y - 2) + bx(x, y - 1) * 4 + bx(x, y) * 6 + bx(x, y + 1) * 4 + bx(x, y + 2)) / 16.0f;
        sharp(x, y) = cl(x, y) * 2.0f - by(x, y);
        b.output(sharp, {70, 60});
    });
    add("harris_like", [](Builder &b) {
        ImageParam in = b.input(Float(32), {66, 66}, "in");
        Func gx("gx"), gy("gy"), ixx("ixx"), iyy("iyy"), ixy("ixy"), sxx("sxx"), syy("syy"), sxy("sxy"),
            resp("resp");
        gx(x, y) = in(x + 1, y) - in(x, y);
        gy(x, y) = in(x, y + 1) - in(x, y);
        ixx(x, y) = gx(x, y) * gx(x, y);
        iyy(x, y) = gy(x, y) * gy(x, y);
        ixy(x, y) = gx(x, y) * gy(x, y);
        RDom r(0, 3, 0, 3);
        sxx(x, y) = sum(ixx(x + r.x, y + r.y));
        syy(x, y) = sum(iyy(x + r.x, y + r.y));
        sxy(x, y) = sum(ixy(x + r.x, y + r.y));
        Expr det = sxx(x, y) * syy(x, y) - sxy(x, y) * sxy(x, y);
        Expr tr = sxx(x, y) + syy(x, y);
        resp(x, y) = det - 0.04f * tr * tr;
        b.output(resp, {62, 62});
    });
    add("rdom_with_predicate", [](Builder &b) {
        ImageParam in = b.input(Int(32), {40, 40}, "in");
        Func tri("tri");
        RDom r(0, 40, 0, 40);
        r.where(r.x <= r.y);
        tri(x) = 0;
        tri(x) += select(in(r.x, r.y) % 40 == x, 1, 0);
        b.output(tri, {40});
    });
    add("gaussian_pyramid", [](Builder &b) {
        ImageParam in = b.input(Float(32), {128, 128}, "in");
        Func l1("l1"), l2("l2"), d1("d1");
        d1(x, y) = (in(2 * x, y) + in(2 * x + 1, y)) * 0.5f;
        l1(x, y) = (d1(x, 2 * y) + d1(x, 2 * y + 1)) * 0.5f;
        l2(x, y) = (l1(2 * x, 2 * y) + l1(2 * x + 1, 2 * y + 1)) * 0.5f;
        b.output(l2, {32, 32});
    });
    add("demosaic_like", [](Builder &b) {
        ImageParam in = b.input(UInt(16), {64, 64}, "in");
        Func g("g"), o("o");
        g(x, y) = select((x + y) % 2 == 0, in(x, y), (in(x + 1, y) + in(x, y + 1)) / 2);
        o(x, y) = cast<uint8_t>(g(x, y) >> 4);
        b.output(o, {63, 63});
    });
    add("matrix_vector", [](Builder &b) {
        ImageParam M = b.input(Float(32), {256, 64}, "M");
        ImageParam v = b.input(Float(32), {256}, "v");
        Func mv("mv");
        RDom k(0, 256);
        mv(y) = 0.0f;
        mv(y) += M(k, y) * v(k);
        b.output(mv, {64});
    });
    add("long_1d", [](Builder &b) {
        ImageParam in = b.input(Float(32), {20000}, "in");
        Func f("f"), g("g");
        f(x) = in(x)*in(x);
        g(x) = f(x) + f(x + 1) + f(x + 2);
        b.output(g, {19998});
    });
    add("update_with_partial_lhs", [](Builder &b) {
        ImageParam in = b.input(Int(32), {30, 20}, "in");
        Func f("f"), g("g");
        f(x, y) = in(x, y);
        f(x, 0) = f(x, 0) + f(x, 1) * 2;
        g(x, y) = f(x, y) * 3;
        b.output(g, {30, 20});
    });
    add("lut_data_dependent_load", [](Builder &b) {
        ImageParam in = b.input(UInt(8), {90, 50}, "in");
        Func lut("lut"), o("o");
        lut(x) = cast<uint8_t>(clamp(sqrt(cast<float>(x)) * 16.0f, 0.0f, 255.0f));
        o(x, y) = lut(cast<int>(in(x, y)));
        b.output(o, {90, 50});
    });
    add("bilateral_grid", [](Builder &b) {
        // Splat into a 3D grid with a data-dependent histogram update, blur the grid, slice
        // with trilinear interpolation (Halide's classic app, reduced).
        ImageParam in = b.input(Float(32), {96, 80}, "in");
        Var z("z");
        const int s = 8;
        Func clamped = BoundaryConditions::repeat_edge(in);
        RDom r(0, s, 0, s);
        Expr val = clamp(clamped(x * s + r.x - s / 2, y * s + r.y - s / 2), 0.0f, 1.0f);
        Expr zi = cast<int>(val * 10.0f + 0.5f);
        Func grid("grid"), bx("gbx"), by("gby"), bz("gbz"), out("bilateral");
        grid(x, y, z, c) = 0.0f;
        grid(x, y, zi, c) += select(c == 0, val, 1.0f);
        bz(x, y, z, c) = grid(x, y, z - 1, c) + 2.0f * grid(x, y, z, c) + grid(x, y, z + 1, c);
        bx(x, y, z, c) = bz(x - 1, y, z, c) + 2.0f * bz(x, y, z, c) + bz(x + 1, y, z, c);
        by(x, y, z, c) = bx(x, y - 1, z, c) + 2.0f * bx(x, y, z, c) + bx(x, y + 1, z, c);
        Expr v = clamp(in(x, y), 0.0f, 1.0f) * 10.0f;
        Expr zv = clamp(cast<int>(v), 0, 9);
        Expr zf = v - zv;
        Expr xf = cast<float>(x % s) / s, yf = cast<float>(y % s) / s;
        Expr xi = x / s, yi = y / s;
        Func interp("interp");
        interp(x, y, c) = lerp(lerp(lerp(by(xi, yi, zv, c), by(xi + 1, yi, zv, c), xf),
                                    lerp(by(xi, yi + 1, zv, c), by(xi + 1, yi + 1, zv, c), xf), yf),
                               lerp(lerp(by(xi, yi, zv + 1, c), by(xi + 1, yi, zv + 1, c), xf),
                                    lerp(by(xi, yi + 1, zv + 1, c), by(xi + 1, yi + 1, zv + 1, c), xf), yf),
                               zf);
        out(x, y) = interp(x, y, 0) / (interp(x, y, 1) + 1e-3f);
        b.output(out, {96, 80});
    });
    add("local_laplacian_like", [](Builder &b) {
        // A LUT remap, two-level Gaussian/Laplacian pyramids with up- and down-sampling, and a
        // data-dependent blend of the levels.
        ImageParam in = b.input(UInt(16), {128, 96}, "in");
        Var k("k");
        Func lut("remap_lut"), gray("gray"), g0("g0"), d1("d1"), g1("g1"), up1("up1"), lap0("lap0"),
            out("ll_out");
        lut(x) = cast<float>(x) / 1024.0f * (1.0f - cast<float>(x) / 8192.0f);
        Func cl = BoundaryConditions::repeat_edge(in);
        gray(x, y) = cast<float>(cl(x, y)) / 65535.0f;
        g0(x, y) = lut(clamp(cast<int>(gray(x, y) * 4095.0f), 0, 4095));
        d1(x, y) = (g0(2 * x - 1, y) + 2.0f * g0(2 * x, y) + g0(2 * x + 1, y)) * 0.25f;
        g1(x, y) = (d1(x, 2 * y - 1) + 2.0f * d1(x, 2 * y) + d1(x, 2 * y + 1)) * 0.25f;
        up1(x, y) = (g1(x / 2, y / 2) + g1((x + 1) / 2, (y + 1) / 2)) * 0.5f;
        lap0(x, y) = g0(x, y) - up1(x, y);
        Expr level = clamp(cast<int>(gray(x, y) * 3.0f), 0, 2);
        out(x, y) = cast<uint16_t>(
            clamp((up1(x, y) + lap0(x, y) * (1.0f + cast<float>(level) * 0.5f)) * 65535.0f, 0.0f, 65535.0f));
        b.output(out, {128, 96});
    });
    add("full_sum_needs_rfactor", [](Builder &b) {
        ImageParam in = b.input(Float(32), {300, 200}, "in");
        Func total("total");
        RDom r(0, 300, 0, 200);
        total() = 0.0f;
        total() += in(r.x, r.y) * in(r.x, r.y);
        b.output(total, {});
    });
    add("big_histogram_needs_rfactor", [](Builder &b) {
        ImageParam in = b.input(UInt(8), {256, 192}, "in");
        Func hist("hist");
        RDom r(0, 256, 0, 192);
        hist(x) = 0;
        hist(cast<int>(in(r.x, r.y))) += 1;
        b.output(hist, {256});
    });
    add("long_1d_reduction_needs_rfactor", [](Builder &b) {
        ImageParam in = b.input(Int(32), {50000}, "in");
        Func total("total");
        RDom r(0, 50000);
        total() = 0;
        total() += in(r) % 7;
        b.output(total, {});
    });
    return cs;
}

} // namespace

const std::vector<PipelineCase> &pipeline_corpus() {
    static const std::vector<PipelineCase> corpus = make_corpus();
    return corpus;
}

const PipelineCase &find_case(const std::string &name) {
    for (const auto &c : pipeline_corpus()) {
        if (c.name == name) return c;
    }
    throw std::runtime_error("no test pipeline named " + name);
}

std::vector<Buffer<>> run_pipeline(BuiltPipeline &b, const Target &t) {
    std::vector<Buffer<>> outs;
    for (size_t i = 0; i < b.outputs.size(); i++) {
        for (const Type &ty : b.outputs[i].output_types())
            outs.emplace_back(ty, b.sizes[i]);
    }
    Pipeline p(b.outputs);
    std::vector<Buffer<>> bufs = outs;
    Realization r(bufs);
    p.realize(r, t);
    return outs;
}

std::string compare_buffers(const Buffer<> &a, const Buffer<> &b) {
    if (a.type() != b.type() || a.number_of_elements() != b.number_of_elements())
        return "shape or type differs";
    std::string err;
    a.for_each_element([&](const int *pos) {
        if (!err.empty()) return;
        double va, vb;
        const Type t = a.type();
        auto get = [&](const Buffer<> &buf) -> double {
            const void *p = buf.raw_buffer()->address_of(pos);
            if (t == Float(32)) return *(const float *)p;
            if (t == Float(64)) return *(const double *)p;
            if (t == UInt(8)) return *(const uint8_t *)p;
            if (t == UInt(16)) return *(const uint16_t *)p;
            if (t == UInt(32)) return *(const uint32_t *)p;
            if (t == Int(8)) return *(const int8_t *)p;
            if (t == Int(16)) return *(const int16_t *)p;
            if (t == Int(32)) return *(const int32_t *)p;
            throw std::runtime_error("compare_buffers: unsupported type");
        };
        va = get(a), vb = get(b);
        bool ok = t.is_float() ? std::abs(va - vb) <= 1e-4 * std::max(1.0, std::abs(vb)) : va == vb;
        if (!ok) {
            std::ostringstream os;
            os << "mismatch at (";
            for (int d = 0; d < a.dimensions(); d++)
                os << (d ? "," : "") << pos[d];
            os << "): " << va << " vs reference " << vb;
            err = os.str();
        }
    });
    return err;
}

} // namespace harl_test
