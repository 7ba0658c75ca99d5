"""Fits the rational erf approximation used by Darkroom's GELU: erf(x) ~ x*P(x^2)/Q(x^2) on [0, 4].

Iteratively reweighted linear least squares (Loeb's method); prints the max Float32 error and coefficients
for a few degree pairs. Darkroom uses the (6, 5) row: 6 numerator and 5+1 denominator coefficients.
"""
import numpy as np
from scipy.special import erf
# rational fit erf(x) ~ x*P(x^2)/Q(x^2) on [0, 4], via linearized least squares then check
L=4.0
x=np.linspace(1e-6,L,20001)
y=erf(x)
for (np_,nq) in [(6,5),(7,5),(5,5),(6,4)]:
    # y*Q(s) = x*P(s), s=x^2, Q normalized q0=1
    s=x*x
    A=np.hstack([np.stack([x*s**i for i in range(np_)],1), -np.stack([y*s**j for j in range(1,nq+1)],1)])
    coef,*_=np.linalg.lstsq(A,y,rcond=None)
    # iterate weighted (Loeb) a few times
    for it in range(10):
        p=coef[:np_]; q=np.concatenate([[1],coef[np_:]])
        Q=sum(q[j]*s**j for j in range(nq+1))
        coef,*_=np.linalg.lstsq(A/Q[:,None],y/Q,rcond=None)
    p=coef[:np_]; q=np.concatenate([[1],coef[np_:]])
    # float32 eval
    xf=np.linspace(0,6,200001).astype(np.float32)
    xc=np.minimum(xf,np.float32(L)); sf=xc*xc
    P=np.float32(0); Q=np.float32(0)
    for c in p[::-1]: P=P*sf+np.float32(c)
    for c in q[::-1]: Q=Q*sf+np.float32(c)
    approx=np.minimum(xc*P/Q,np.float32(1))
    err=np.abs(approx.astype(np.float64)-erf(xf.astype(np.float64)))
    print(np_,nq,err.max(), repr(p.astype(np.float32).tolist()), repr(q.astype(np.float32).tolist()))
