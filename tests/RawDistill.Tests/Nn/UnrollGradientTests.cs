namespace RawDistill.Tests.Nn;

using RawDistill.Autodiff;
using RawDistill.Nn.Models;
using RawDistill.Random;
using RawDistill.Tensors;

/// <summary>
/// The MKDT inner loop through the nn layer, in f64: N plain SGD steps on a flat parameter
/// vector with the functional call, graph kept, then ‖θ_N − θ_T‖²; its gradients with respect
/// to the images X, the targets Y and the learning rate η agree with central finite differences.
/// </summary>
[Trait("Category", "Nn")]
public sealed class UnrollGradientTests
{
    [Fact]
    public void UnrolledSgdGradientsMatchFiniteDifferences()
    {
        using var scope = TensorScope.Begin();
        using var model = new ConvNet(new ConvNetConfig(new ImageShape(1, 8), [3], ConvNorm.Instance, ConvPool.Avg, true, null, 2), new Generator(1));
        model.To(DType.F64);
        var theta0 = model.FlattenParameters();
        var thetaT = Ops.Add(theta0, Tensor.Normal([checked((int)theta0.Numel)], 0, 0.05, new Generator(2), DType.F64));
        var x = Tensor.Normal([4, 1, 8, 8], 0, 1, new Generator(3), DType.F64);
        var y = Tensor.Normal([4, 2], 0, 1, new Generator(4), DType.F64);
        var eta = Tensor.Full([1], 0.3, DType.F64);

        // θ_{n+1} = θ_n − η ∇_θ MSE(f_θn(X_b), Y_b), recorded (createGraph) so the loss differentiates
        // through the inner gradients; the finite-difference evaluations run the same code.
        Tensor Loss(Tensor xs, Tensor ys, Tensor lr)
        {
            var theta = Ops.Detach(theta0);
            theta.RequiresGrad = true;
            for (int n = 0; n < 3; n++)
            {
                var xb = Ops.Slice(xs, 0, (n % 2) * 2, 2);   // two minibatches of 2
                var yb = Ops.Slice(ys, 0, (n % 2) * 2, 2);
                var inner = Ops.Mse(model.Forward(xb, model.UnflattenParameters(theta)), yb);
                var g = Autograd.Grad([inner], [theta], createGraph: true)[0];
                theta = Ops.Sub(theta, Ops.Mul(g, lr));
            }
            var d = Ops.Sub(theta, thetaT);
            return Ops.Sum(Ops.Mul(d, d));
        }

        x.RequiresGrad = true; y.RequiresGrad = true; eta.RequiresGrad = true;
        var loss = Loss(x, y, eta);
        var (gx, gy, geta) = Autograd.Grad([loss], [x, y, eta]) switch { var g => (g[0].ToDoubles(), g[1].ToDoubles(), g[2].ToDoubles()) };

        double Eval(Tensor xs, Tensor ys, Tensor lr)
        {
            using var s = TensorScope.Begin();
            return Loss(Ops.Detach(xs), Ops.Detach(ys), Ops.Detach(lr)).Item();
        }

        const double h = 1e-6;
        void Check(Tensor t, double[] analytic, int index, Func<Tensor, double> f)
        {
            var v = t.ToDoubles();
            double Perturbed(double delta)
            {
                var copy = (double[])v.Clone();
                copy[index] += delta;
                using var p = Tensor.From<double>(copy, t.Shape);
                return f(p);
            }
            double numeric = (Perturbed(h) - Perturbed(-h)) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[index]) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                $"{t.Describe()}[{index}]: autodiff {analytic[index]:G10}, finite differences {numeric:G10}");
        }

        foreach (int i in new[] { 0, 17, 70, 255 }) Check(x, gx, i, p => Eval(p, y, eta));
        foreach (int i in new[] { 0, 5 }) Check(y, gy, i, p => Eval(x, p, eta));
        Check(eta, geta, 0, p => Eval(x, y, p));
        Assert.True(Math.Abs(geta[0]) > 1e-3 && gx.Max(Math.Abs) > 1e-6, "gradients unexpectedly vanish");
    }
}
