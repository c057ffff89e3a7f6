// Optimisers against updates computed by hand in f64 from PyTorch's formulas.
import { tensor } from "../../index.ts";
import { adamW, sgd } from "../../train/optim.ts";
import { assertClose, assertFwdgradError, suite } from "../harness.ts";

const Optim = suite("optimisers");

Optim("AdamW: two steps equal torch.optim.AdamW's formulas", () => {
  const p0 = [0.5, -1.25, 2, 0];
  const grads = [[0.1, -0.2, 0.3, 0], [-0.4, 0.05, 0.3, 1]];
  const [lr, b1, b2, eps, wd] = [1e-2, 0.9, 0.999, 1e-8, 0.01];
  const param = tensor(p0, [2, 2]);
  const opt = adamW({ lr, betas: [b1, b2], eps, weightDecay: wd });
  const p = p0.slice(), m = [0, 0, 0, 0], v = [0, 0, 0, 0];
  grads.forEach((g, t) => {
    opt.step([param], [tensor(g, [2, 2])]);
    for (let j = 0; j < 4; j++) {
      p[j] *= 1 - lr * wd;
      m[j] = b1 * m[j] + (1 - b1) * g[j];
      v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
      const mHat = m[j] / (1 - b1 ** (t + 1)), vHat = v[j] / (1 - b2 ** (t + 1));
      p[j] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
    assertClose(param.toArray(), p, `after step ${t + 1}`, 1e-6, 1e-7);
  });
});

Optim("SGD with weight decay, and mismatched inputs", () => {
  const param = tensor([1, -2, 3]);
  sgd({ lr: 0.1, weightDecay: 0.5 }).step([param], [tensor([1, 1, -1])]);
  assertClose(param.toArray(), [1 - 0.1 * (1 + 0.5), -2 - 0.1 * (1 - 1), 3 - 0.1 * (-1 + 1.5)], "sgd", 1e-6, 1e-7);
  assertFwdgradError(() => sgd().step([param], [tensor([1, 2])]), /sgd: parameter 0 has 3 values, its gradient 2/);
  assertFwdgradError(() => adamW({ betas: [1, 0.9] }), /adamW: betas must be below 1/);
  assertFwdgradError(() => adamW({ lr: -1 }), /adamW: lr must be a finite number ≥ 0, got -1/);
});

Optim.run();
