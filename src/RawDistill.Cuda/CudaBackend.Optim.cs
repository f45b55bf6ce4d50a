namespace RawDistill.Cuda;

using RawDistill.Backends;
using RawDistill.Tensors;

// Fused optimizer steps (kernels/optim.cu).
public sealed unsafe partial class CudaBackend
{
    /// <inheritdoc/>
    public void SgdStep(Storage param, Storage grad, Storage? momentum, long count, in SgdStepArgs args)
    {
        var sfx = FloatSuffix(param.DType, "sgd step");
        SameDType("sgd step", param.DType, grad, momentum);
        bool hasMomentum = args.Momentum != 0;
        if (hasMomentum && momentum is null) throw new ArgumentNullException(nameof(momentum), "sgd step: momentum ≠ 0 needs a momentum buffer");
        ulong pp = Ptr(param, 0, count), pg = Ptr(grad, 0, count), pm = hasMomentum ? Ptr(momentum!, 0, count) : 0;
        int flags = (args.Nesterov ? 1 : 0) | (args.FirstStep ? 2 : 0) | (hasMomentum ? 4 : 0);
        var a = new KernelArgs();
        a.Add(pp); a.Add(pg); a.Add(pm); a.Add(count);
        a.Add(args.Lr); a.Add(args.Momentum); a.Add(args.Dampening); a.Add(args.WeightDecay); a.Add(flags);
        Launch1D("optim.cu", "sgd_step_" + sfx, count, ref a);
    }

    /// <inheritdoc/>
    public void AdamWStep(Storage param, Storage grad, Storage m, Storage v, long count, in AdamWStepArgs args)
    {
        var sfx = FloatSuffix(param.DType, "adamw step");
        SameDType("adamw step", param.DType, grad, m, v);
        if (args.Step < 1) throw new ArgumentOutOfRangeException(nameof(args), "adamw step: Step is 1-based");
        ulong pp = Ptr(param, 0, count), pg = Ptr(grad, 0, count), pm = Ptr(m, 0, count), pv = Ptr(v, 0, count);
        double bc1 = 1 - Math.Pow(args.Beta1, args.Step), bc2 = 1 - Math.Pow(args.Beta2, args.Step);
        var a = new KernelArgs();
        a.Add(pp); a.Add(pg); a.Add(pm); a.Add(pv); a.Add(count);
        a.Add(1 - args.Lr * args.WeightDecay); a.Add(args.Beta1); a.Add(args.Beta2); a.Add(args.Eps);
        a.Add(args.Lr / bc1); a.Add(Math.Sqrt(bc2));
        Launch1D("optim.cu", "adamw_step_" + sfx, count, ref a);
    }
}
