// A C replica of RankKernels' tanh-form GELU (Activations.swift: geluTanhFirstStage,
// geluTanhSecondStage, applyInTwoStages) beside a candidate whose first stage carries
// the argument t = -2z = -(A|x| + B|x|^3) in double-Float32: |x|^2 split exactly by an
// FMA, B|x|^2 likewise, the sum A + B|x|^2 by Knuth's two-sum, and the reduced argument
// r = t - n ln 2 formed as -|x|*G - n*ln2_hi in one FMA (exact before its one rounding)
// plus the carried low parts. It answers "what does a 2-ulp argument cost on this core".
// Build without FP contraction: gcc turns _mm256_mul_ps + _mm256_add_ps into FMAs
// otherwise, which breaks the error-free transformations.
//
//   gcc -O3 -mavx2 -mfma -ffp-contract=off -o /tmp/gelu-tanh-replica Tools/perf/gelu-tanh-replica.c -lm
//   /tmp/gelu-tanh-replica acc 4093                       # ulp sweeps (|x| <= 9.8, and the whole line)
//   /tmp/gelu-tanh-replica 49152 3000; /tmp/gelu-tanh-replica 12582912 15   # speed, medians of interleaved calls
//
// Below x = -9.9 both flush to -0 (e^t underflows), as the kernel documents: the
// whole-line sweep's worst is there.
#include <immintrin.h>
#include <math.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#define S(v) _mm256_set1_ps(v)
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
typedef struct { __m256 r, scale; } stage_t;
static inline __m256 abs8(__m256 x){return _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(x),_mm256_set1_epi32(0x7fffffff)));}
static inline __m256 scale_from(__m256 sh){
  __m256i e=_mm256_sub_epi32(_mm256_castps_si256(sh),_mm256_castps_si256(S(12582912.f)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e,_mm256_set1_epi32(127)),23));}
// current kernel's first stage
static inline stage_t first_cur(__m256 x){
  __m256 a=abs8(x);
  __m256 m2z=MUL(a,FMA(MUL(a,a),S(-2*0.044715f*0.79788456f),S(-2*0.79788456f)));
  m2z=_mm256_max_ps(m2z,S(-88.f));
  __m256 sh=FMA(m2z,S(1.44269504f),S(12582912.f));
  __m256 n=SUB(sh,S(12582912.f));
  __m256 r=FMA(n,S(-0.693359375f),m2z); r=FMA(n,S(2.1219444e-4f),r);
  stage_t s={r,scale_from(sh)}; return s;}
// accurate: t = -(A a + B a^3) with the sum's error carried; r = t - n ln2
static float Ah,Al,Bh,Bl;
// min(|x|, 12): t then passes -88 (n = -127, scale bits 0) with G finite.
static inline stage_t first_acc(__m256 x){
  __m256 a=_mm256_min_ps(abs8(x),S(12.f));
  __m256 sh2=MUL(a,a), sl=FMA(a,a,SUB(_mm256_setzero_ps(),sh2));  // a^2 = sh2 + sl exactly
  __m256 Hh=MUL(S(Bh),sh2), Hl=FMA(S(Bh),sh2,SUB(_mm256_setzero_ps(),Hh));
  __m256 G=ADD(S(Ah),Hh), bb=SUB(G,S(Ah));
  __m256 e=ADD(SUB(S(Ah),SUB(G,bb)),SUB(Hh,bb));
  __m256 Gerr=ADD(ADD(e,FMA(S(Bh),sl,Hl)),FMA(S(Bl),sh2,S(Al)));
  __m256 m=_mm256_min_ps(MUL(a,G),S(88.f));
  __m256 shf=FMA(m,S(-1.44269504f),S(12582912.f));
  __m256 nLh=FMA(shf,S(0.693359375f),S(-12582912.f*0.693359375f)); // n*Lh exact
  __m256 n=SUB(shf,S(12582912.f));
  // r = -aG - n ln2 = -aG - n Lh - n Ll ; Ll = ln2 - Lh (negative)
  __m256 r1=FMA(SUB(_mm256_setzero_ps(),a),G,SUB(_mm256_setzero_ps(),nLh));
  __m256 corr=FMA(SUB(_mm256_setzero_ps(),a),Gerr,MUL(n,S(2.1219444e-4f)));
  stage_t s={ADD(r1,corr),scale_from(shf)}; return s;}
static inline __m256 expred(__m256 r){
  __m256 r2=MUL(r,r);
  __m256 p01=FMA(S(0.16666518f),r,S(0.49999988f)), p23=FMA(S(0.008368919f),r,S(0.041669533f));
  __m256 p=FMA(FMA(S(0.0013751409f),r2,p23),r2,p01);
  return ADD(FMA(p,r2,r),S(1.f));}
static inline __m256 second(__m256 x, stage_t s){
  __m256 e=MUL(expred(s.r),s.scale);
  __m256 num=_mm256_blendv_ps(x,MUL(_mm256_max_ps(x,S(-3.4028235e38f)),e),x);
  return _mm256_div_ps(num,ADD(S(1.f),e));}
#define TWO_STAGE(name, first) \
static __attribute__((noinline)) void name(const float*in,int cnt,float*out){ \
  stage_t st[32]; \
  for(int i=0;i+8<=cnt;){int v=(cnt-i)/8; if(v>32)v=32; \
    for(int k=0;k<v;k++) st[k]=first(_mm256_loadu_ps(in+i+8*k)); \
    for(int k=0;k<v;k++) _mm256_storeu_ps(out+i+8*k,second(_mm256_loadu_ps(in+i+8*k),st[k])); \
    i+=8*v;} }
TWO_STAGE(gelu_cur, first_cur)
TWO_STAGE(gelu_acc, first_acc)
static double ref(float xf){double x=xf; double z=0.7978845608028654*(x+0.044715*x*x*x); return x/(1+exp(-2*z));}
static double ulperr(float x,float y){double ex=ref(x); float r=(float)ex; double u=(r==0)?1.4e-45:(double)(nextafterf(fabsf(r),INFINITY)-fabsf(r)); return fabs((double)y-ex)/u;}
static void sweep(void(*f)(const float*,int,float*),const char*name,unsigned step,float lim){
  size_t cap=(1ull<<32)/step+16; float*in=malloc(cap*4),*out=malloc(cap*4); size_t k=0;
  for(uint64_t b=0;b<(1ull<<32);b+=step){float x;uint32_t bb=(uint32_t)b;memcpy(&x,&bb,4); if(isfinite(x)&&fabsf(x)<=lim) in[k++]=x;}
  while(k%8) in[k++]=0;
  f(in,(int)k,out); double worst=0; float wx=0; size_t w2=0;
  for(size_t i=0;i<k;i++){double e=ulperr(in[i],out[i]); if(e>worst){worst=e;wx=in[i];} if(e<=2)w2++;}
  printf("%s step %u |x|<=%g: %zu values, worst %.3f ulp at x=%.9g, within 2: %.5f%%\n",name,step,lim,k,worst,wx,100.0*w2/k);
  free(in);free(out);}
static int cmp(const void*a,const void*b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  double A=2*0.7978845608028654, B=2*0.7978845608028654*0.044715;
  Ah=(float)A; Al=(float)(A-Ah); Bh=(float)B; Bl=(float)(B-Bh);
  if(argc>1 && !strcmp(argv[1],"acc")){ unsigned step=argc>2?atoi(argv[2]):4093;
    sweep(gelu_cur,"current",step,9.8f); sweep(gelu_acc,"accurate",step,9.8f); sweep(gelu_cur,"current",step,FLT_MAX); sweep(gelu_acc,"accurate",step,FLT_MAX);
    return 0;}
  int n=argc>1?atoi(argv[1]):49152, calls=argc>2?atoi(argv[2]):3000;
  float*x=aligned_alloc(64,n*4),*y=aligned_alloc(64,n*4),*z=aligned_alloc(64,n*4);
  srand(3); for(int i=0;i<n;i++){double a=(rand()+1.0)/((double)RAND_MAX+1),b=rand()/(double)RAND_MAX; x[i]=(float)(sqrt(-2*log(a))*cos(6.283185307179586*b));}
  double*t1=malloc(calls*8),*t2=malloc(calls*8);
  for(int c=0;c<calls;c++){double a=now(); gelu_cur(x,n,y); double b=now(); gelu_acc(x,n,z); double d=now(); t1[c]=b-a;t2[c]=d-b;}
  qsort(t1,calls,8,cmp);qsort(t2,calls,8,cmp); double a=t1[calls/2],b=t2[calls/2];
  printf("%d: current %.1f us (%.2f G el/s), accurate %.1f us (%.2f), accurate/current speed %.3f\n",n,1e6*a,n/a*1e-9,1e6*b,n/b*1e-9,a/b);
}
