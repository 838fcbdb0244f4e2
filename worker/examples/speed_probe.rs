use candle_core::{Device, Tensor, DType, D};
use std::time::Instant;
fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    let b = 128usize;
    let x = Tensor::rand(0f32, 1f32, (b, 784), &dev)?;
    let w1 = Tensor::rand(-0.05f32, 0.05, (784, 100), &dev)?;
    let b1 = Tensor::zeros(100, DType::F32, &dev)?;
    let w2 = Tensor::rand(-0.1f32, 0.1, (100, 100), &dev)?;
    let b2 = Tensor::zeros(100, DType::F32, &dev)?;
    let w3 = Tensor::rand(-0.2f32, 0.2, (100, 10), &dev)?;
    let b3 = Tensor::zeros(10, DType::F32, &dev)?;
    let y = Tensor::rand(0f32, 1f32, (b, 10), &dev)?;
    let n = 2000;
    let t = Instant::now();
    let (mut w1, mut w2, mut w3) = (w1, w2, w3);
    for _ in 0..n {
        let z1 = x.matmul(&w1)?.broadcast_add(&b1)?;
        let a1 = z1.relu()?;
        let z2 = a1.matmul(&w2)?.broadcast_add(&b2)?;
        let a2 = z2.relu()?;
        let z3 = a2.matmul(&w3)?.broadcast_add(&b3)?;
        let m = z3.max_keepdim(D::Minus1)?;
        let e = z3.broadcast_sub(&m)?.exp()?;
        let s = e.sum_keepdim(D::Minus1)?;
        let p = e.broadcast_div(&s)?;
        let d3 = ((p - &y)? / b as f64)?;
        let g3 = a2.t()?.matmul(&d3)?;
        let gb3 = d3.sum(0)?;
        let da2 = d3.matmul(&w3.t()?)?;
        let d2 = (da2 * z2.gt(0f32)?.to_dtype(DType::F32)?)?;
        let g2 = a1.t()?.matmul(&d2)?;
        let gb2 = d2.sum(0)?;
        let da1 = d2.matmul(&w2.t()?)?;
        let d1 = (da1 * z1.gt(0f32)?.to_dtype(DType::F32)?)?;
        let g1 = x.t()?.matmul(&d1)?;
        let gb1 = d1.sum(0)?;
        w1 = (w1 - (g1 * 0.01)?)?; w2 = (w2 - (g2*0.01)?)?; w3 = (w3 - (g3*0.01)?)?;
        let _ = (gb1, gb2, gb3);
    }
    let el = t.elapsed().as_secs_f64();
    println!("candle steps/s: {:.0}", n as f64 / el);
    // raw gemm
    let xv: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let w1v: Vec<f32> = w1.flatten_all()?.to_vec1()?;
    let mut z = vec![0f32; b*100];
    let mut g = vec![0f32; 784*100];
    let t = Instant::now();
    for _ in 0..n {
        unsafe {
            gemm::gemm(b, 100, 784, z.as_mut_ptr(), 1, 100, false, xv.as_ptr(), 1, 784, w1v.as_ptr(), 1, 100, 0.0, 1.0, false, false, false, gemm::Parallelism::None);
            gemm::gemm(784, 100, b, g.as_mut_ptr(), 1, 100, false, xv.as_ptr(), 784, 1, z.as_ptr(), 1, 100, 0.0, 1.0, false, false, false, gemm::Parallelism::None);
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!("raw gemm layer1 fwd+wgrad per step: {:.1} us -> {:.1} GFLOP/s", el/n as f64*1e6, 4.0*b as f64*78400.0*n as f64/el/1e9);
    Ok(())
}
