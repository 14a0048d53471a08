// The sum of one float per invocation over the workgroup, returned to every invocation,
// added in shared memory (one float per invocation) as a tree. Every invocation of the
// workgroup must call it (it has barriers). Include after the local_size layout.
shared float workgroup_partial[gl_WorkGroupSize.x];

float WorkgroupSum(float v) {
  const uint lane = gl_LocalInvocationID.x;
  workgroup_partial[lane] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s /= 2) {
    if (lane < s) workgroup_partial[lane] += workgroup_partial[lane + s];
    barrier();
  }
  const float sum = workgroup_partial[0];
  barrier();  // the next call may overwrite workgroup_partial[0]
  return sum;
}
