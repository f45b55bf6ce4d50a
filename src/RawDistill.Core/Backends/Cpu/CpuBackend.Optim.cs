namespace RawDistill.Backends.Cpu;

using System.Numerics;
using RawDistill.Tensors;

// Fused optimizer steps: one pass over each parameter instead of a chain of tensor ops.
public sealed unsafe partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdStep(Storage param, Storage grad, Storage? momentum, long count, in SgdStepArgs args)
    {
        switch (param.DType)
        {
            case DType.F32: SgdT(P<float>(param), P<float>(grad), momentum == null ? null : P<float>(momentum), count, args); break;
            case DType.F64: SgdT(P<double>(param), P<double>(grad), momentum == null ? null : P<double>(momentum), count, args); break;
            default: throw Unsupported("sgd step", param.DType);
        }
    }

    static void SgdT<T>(T* p, T* g, T* buf, long count, SgdStepArgs a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lr = T.CreateChecked(a.Lr), mu = T.CreateChecked(a.Momentum), wd = T.CreateChecked(a.WeightDecay);
        T damp = T.One - T.CreateChecked(a.Dampening);
        if (a.Momentum != 0 && buf == null) throw new ArgumentException("sgd step: momentum > 0 needs a momentum buffer");
        ForChunks(count, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                T gi = g[i] + wd * p[i];
                T d = gi;
                if (a.Momentum != 0)
                {
                    T bi = a.FirstStep ? gi : mu * buf[i] + damp * gi;
                    buf[i] = bi;
                    d = a.Nesterov ? gi + mu * bi : bi;
                }
                p[i] -= lr * d;
            }
        });
    }

    /// <inheritdoc/>
    public void AdamWStep(Storage param, Storage grad, Storage m, Storage v, long count, in AdamWStepArgs args)
    {
        switch (param.DType)
        {
            case DType.F32: AdamWT(P<float>(param), P<float>(grad), P<float>(m), P<float>(v), count, args); break;
            case DType.F64: AdamWT(P<double>(param), P<double>(grad), P<double>(m), P<double>(v), count, args); break;
            default: throw Unsupported("adamw step", param.DType);
        }
    }

    static void AdamWT<T>(T* p, T* g, T* m, T* v, long count, AdamWStepArgs a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Bias corrections in double, like PyTorch computes them on the host.
        double bc1 = 1 - Math.Pow(a.Beta1, a.Step), bc2 = 1 - Math.Pow(a.Beta2, a.Step);
        T decay = T.CreateChecked(1 - a.Lr * a.WeightDecay);
        T b1 = T.CreateChecked(a.Beta1), b2 = T.CreateChecked(a.Beta2), eps = T.CreateChecked(a.Eps);
        T stepSize = T.CreateChecked(a.Lr / bc1), sqrtBc2 = T.CreateChecked(Math.Sqrt(bc2));
        ForChunks(count, (s, e) =>
        {
            for (long i = s; i < e; i++)
            {
                T gi = g[i];
                p[i] *= decay;
                T mi = b1 * m[i] + (T.One - b1) * gi;
                T vi = b2 * v[i] + (T.One - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] -= stepSize * mi / (T.Sqrt(vi) / sqrtBc2 + eps);
            }
        });
    }
}
