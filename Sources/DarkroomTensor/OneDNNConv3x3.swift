import CDNNL

/// One 3×3, stride-1, padding-1 convolution shape run by oneDNN: its forward pass, input gradient or weight
/// gradient, by Winograd's F(4×4, 3×3) or directly, on NCHW tensors in and out.
///
/// oneDNN's fastest kernels want channel-blocked layouts (nChw16c and its blocked weights), so the primitive is made
/// with layouts of its own choosing, and each call reorders the plain tensors into per-thread scratch buffers and the
/// result back. The reorders are part of what a measurement of this class times (`ConvolutionChoice`).
///
/// Every primitive has its scratchpad in user mode, in a per-thread buffer: Debian's oneDNN is built without
/// concurrent execution, so its library-managed scratchpad is shared by all threads, and two shard threads running
/// one primitive at once would overwrite each other's.
final class OneDNNConv3x3: @unchecked Sendable {
    /// Which of the convolution's three computations.
    enum Pass: String, Sendable { case forward, inputGradient, weightGradient }

    /// oneDNN's algorithm.
    enum Algorithm: String, Sendable, CaseIterable { case winograd, direct }

    /// A layer's extents.
    struct Shape: Hashable, Sendable, CustomStringConvertible {
        let batch, inputs, outputs, height, width: Int
        let bias: Bool
        var description: String { "\(batch)×\(inputs)→\(outputs) at \(height)×\(width)" }
        /// Multiply-adds ×2 of the convolution, whatever the algorithm.
        var flops: Double { 2 * Double(batch * inputs * outputs * 9 * height * width) }
    }

    /// One tensor the primitive reads or writes: its NCHW layout, the primitive's, and the reorder between them.
    private struct Operand {
        let argument: Int32
        var plain: dnnl_memory_desc_t
        var chosen: dnnl_memory_desc_t
        let reorder: dnnl_primitive_t?
        /// The reorder's scratchpad (zero bytes for most).
        var reorderScratchpad: dnnl_memory_desc_t
        let slot: ScratchBuffer.Slot
    }

    let pass: Pass
    let algorithm: Algorithm
    let shape: Shape
    /// oneDNN's name of the kernel it chose, e.g. "jit_wino_4x3:avx512_core".
    let implementation: String
    private let primitive: dnnl_primitive_t
    private let inputs: [Operand]
    private let output: Operand
    private var biasDescriptor = dnnl_memory_desc_t()
    private var scratchpad = dnnl_memory_desc_t()

    /// The primitive for `pass` of `shape` by `algorithm`; nil when oneDNN has no kernel for it on this CPU (Winograd
    /// needs AVX-512, for one).
    init?(pass: Pass, algorithm: Algorithm, shape: Shape) throws {
        guard let engine = OneDNN.engine else { return nil }
        (self.pass, self.algorithm, self.shape) = (pass, algorithm, shape)
        // oneDNN fixes a kernel's thread count when the primitive is made (omp_get_max_threads then), not per call.
        OneDNN.useEngineThreads()
        let (n, ci, co, h, w) = (shape.batch, shape.inputs, shape.outputs, shape.height, shape.width)
        func descriptor(_ dims: [Int], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
            var md = dnnl_memory_desc_t()
            var d = dims.map { dnnl_dim_t($0) }
            try OneDNN.check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), &d, dnnl_f32, tag), "a memory descriptor")
            return md
        }
        let plainSource = try descriptor([n, ci, h, w], dnnl_nchw)
        let plainWeights = try descriptor([co, ci, 3, 3], dnnl_oihw)
        let plainDestination = try descriptor([n, co, h, w], dnnl_nchw)
        var anySource = try descriptor([n, ci, h, w], dnnl_format_tag_any)
        var anyWeights = try descriptor([co, ci, 3, 3], dnnl_format_tag_any)
        var anyDestination = try descriptor([n, co, h, w], dnnl_format_tag_any)
        biasDescriptor = try descriptor([co], dnnl_x)
        var strides: [dnnl_dim_t] = [1, 1], padding: [dnnl_dim_t] = [1, 1]
        let alg = algorithm == .winograd ? dnnl_convolution_winograd : dnnl_convolution_direct

        var forward = dnnl_convolution_desc_t()
        // Training's forward even for inference: weights are reordered at every call (half-precision and streamed
        // weights are never kept in oneDNN's layout), and inference's Winograd layout costs more to reorder into
        // than the convolution itself (IF-I-M, 576 channels at 16²: 65 ms against 6 ms).
        let kind = dnnl_forward_training
        let withBias = shape.bias && pass == .forward
        try OneDNN.check(withUnsafePointer(to: &biasDescriptor) { bias in
            dnnl_convolution_forward_desc_init(&forward, kind, alg, &anySource, &anyWeights, withBias ? bias : nil,
                                               &anyDestination, &strides, &padding, &padding)
        }, "describing a convolution")
        var userScratchpad: dnnl_primitive_attr_t?
        try OneDNN.check(dnnl_primitive_attr_create(&userScratchpad), "primitive attributes")
        defer { dnnl_primitive_attr_destroy(userScratchpad) }
        try OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(userScratchpad, dnnl_scratchpad_mode_user), "a user scratchpad")
        var forwardPD: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&forwardPD, &forward, userScratchpad, engine, nil) == dnnl_success, let forwardPD else { return nil }
        // A backward pass's descriptor, made with the forward one as its hint; the forward one is freed either way.
        func backward(_ describe: (inout dnnl_convolution_desc_t) -> dnnl_status_t, _ what: String) throws -> dnnl_primitive_desc_t? {
            defer { dnnl_primitive_desc_destroy(forwardPD) }
            var desc = dnnl_convolution_desc_t()
            try OneDNN.check(describe(&desc), "describing \(what)")
            var made: dnnl_primitive_desc_t?
            return dnnl_primitive_desc_create(&made, &desc, userScratchpad, engine, forwardPD) == dnnl_success ? made : nil
        }
        let chosenPD: dnnl_primitive_desc_t? = switch pass {
        case .forward: forwardPD
        case .inputGradient: try backward({ dnnl_convolution_backward_data_desc_init(&$0, alg, &anySource, &anyWeights, &anyDestination,
                                                                                     &strides, &padding, &padding) }, "an input gradient")
        case .weightGradient: try backward({ dnnl_convolution_backward_weights_desc_init(&$0, alg, &anySource, &anyWeights, nil, &anyDestination,
                                                                                         &strides, &padding, &padding) }, "a weight gradient")
        }
        guard let pd = chosenPD else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        var info: UnsafePointer<CChar>?
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
        implementation = info.map { String(cString: $0) } ?? "?"
        func chosen(_ query: dnnl_query_t) -> dnnl_memory_desc_t { dnnl_primitive_desc_query_md(pd, query, 0).pointee }
        scratchpad = chosen(dnnl_query_scratchpad_md)
        func operand(_ argument: Int32, plain: dnnl_memory_desc_t, query: dnnl_query_t, slot: ScratchBuffer.Slot,
                     writes: Bool = false, accumulates: Bool = false) throws -> Operand {
            var plain = plain, picked = chosen(query)
            var reorder: dnnl_primitive_t?
            var reorderScratchpad = dnnl_memory_desc_t()
            if accumulates || dnnl_memory_desc_equal(&plain, &picked) == 0 {
                var attr: dnnl_primitive_attr_t?
                var postOps: dnnl_post_ops_t?
                try OneDNN.check(dnnl_primitive_attr_create(&attr), "reorder attributes")
                try OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "a user scratchpad")
                if accumulates {
                    try OneDNN.check(dnnl_post_ops_create(&postOps), "reorder post-ops")
                    try OneDNN.check(dnnl_post_ops_append_sum(postOps, 1), "a sum post-op")
                    try OneDNN.check(dnnl_primitive_attr_set_post_ops(attr, postOps), "setting post-ops")
                }
                defer { if let postOps { dnnl_post_ops_destroy(postOps) }; if let attr { dnnl_primitive_attr_destroy(attr) } }
                var reorderPD: dnnl_primitive_desc_t?
                let status = writes
                    ? dnnl_reorder_primitive_desc_create(&reorderPD, &picked, engine, &plain, engine, attr)
                    : dnnl_reorder_primitive_desc_create(&reorderPD, &plain, engine, &picked, engine, attr)
                try OneDNN.check(status, "a reorder for the \(pass.rawValue) of \(shape)")
                defer { dnnl_primitive_desc_destroy(reorderPD) }
                reorderScratchpad = dnnl_primitive_desc_query_md(reorderPD, dnnl_query_scratchpad_md, 0).pointee
                try OneDNN.check(dnnl_primitive_create(&reorder, reorderPD), "a reorder")
            }
            return Operand(argument: argument, plain: plain, chosen: picked, reorder: reorder, reorderScratchpad: reorderScratchpad, slot: slot)
        }
        switch pass {
        case .forward:
            inputs = [try operand(DNNL_ARG_SRC, plain: plainSource, query: dnnl_query_src_md, slot: .oneDNNInput),
                      try operand(DNNL_ARG_WEIGHTS, plain: plainWeights, query: dnnl_query_weights_md, slot: .oneDNNSecondInput)]
            output = try operand(DNNL_ARG_DST, plain: plainDestination, query: dnnl_query_dst_md, slot: .oneDNNOutput, writes: true)
        case .inputGradient:
            inputs = [try operand(DNNL_ARG_DIFF_DST, plain: plainDestination, query: dnnl_query_diff_dst_md, slot: .oneDNNInput),
                      try operand(DNNL_ARG_WEIGHTS, plain: plainWeights, query: dnnl_query_weights_md, slot: .oneDNNSecondInput)]
            output = try operand(DNNL_ARG_DIFF_SRC, plain: plainSource, query: dnnl_query_diff_src_md, slot: .oneDNNOutput, writes: true)
        case .weightGradient:
            inputs = [try operand(DNNL_ARG_SRC, plain: plainSource, query: dnnl_query_src_md, slot: .oneDNNInput),
                      try operand(DNNL_ARG_DIFF_DST, plain: plainDestination, query: dnnl_query_diff_dst_md, slot: .oneDNNSecondInput)]
            output = try operand(DNNL_ARG_DIFF_WEIGHTS, plain: plainWeights, query: dnnl_query_diff_weights_md,
                                 slot: .oneDNNOutput, writes: true, accumulates: true)
        }
        var made: dnnl_primitive_t?
        try OneDNN.check(dnnl_primitive_create(&made, pd), "the \(pass.rawValue) primitive of \(shape)")
        primitive = made!
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        for operand in inputs + [output] { if let r = operand.reorder { dnnl_primitive_destroy(r) } }
    }

    /// Runs the pass: reads `first` and `second` (forward: x and weight; input gradient: dy and weight; weight
    /// gradient: x and dy), writes `result` (y, dx), or adds into it (dW); `bias` is added to a forward's y.
    func run(_ first: UnsafePointer<Float>, _ second: UnsafePointer<Float>, into result: UnsafeMutablePointer<Float>,
             bias: UnsafePointer<Float>? = nil) throws {
        guard let engine = OneDNN.engine else { throw TensorError.library("oneDNN has no CPU engine in this process") }
        OneDNN.useEngineThreads()
        let stream = try OneDNN.stream()
        var made: [dnnl_memory_t] = []
        defer { for m in made { dnnl_memory_destroy(m) } }
        func memory(_ desc: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer) throws -> dnnl_memory_t {
            var desc = desc
            var m: dnnl_memory_t?
            try OneDNN.check(dnnl_memory_create(&m, &desc, engine, pointer), "a memory object")
            made.append(m!)
            return m!
        }
        func scratch(_ desc: dnnl_memory_desc_t, _ slot: ScratchBuffer.Slot) throws -> dnnl_memory_t? {
            var desc = desc
            let bytes = dnnl_memory_desc_get_size(&desc)
            guard bytes > 0 else { return nil }
            return try memory(desc, ScratchBuffer.forCurrentThread(count: (bytes + 3) / 4, slot: slot).pointer)
        }
        func scratch(_ operand: Operand) throws -> dnnl_memory_t { try scratch(operand.chosen, operand.slot)! }
        func reorder(_ operand: Operand, from: dnnl_memory_t, to: dnnl_memory_t) throws {
            var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: from), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: to)]
            if let pad = try scratch(operand.reorderScratchpad, .oneDNNScratchpad) { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: pad)) }
            try OneDNN.check(dnnl_primitive_execute(operand.reorder, stream, Int32(args.count), &args), "a reorder")
        }
        var args: [dnnl_exec_arg_t] = []
        for (operand, pointer) in zip(inputs, [first, second]) {
            let user = try memory(operand.plain, UnsafeMutableRawPointer(mutating: pointer))
            if operand.reorder != nil {
                let inside = try scratch(operand)
                try reorder(operand, from: user, to: inside)
                args.append(dnnl_exec_arg_t(arg: operand.argument, memory: inside))
            } else {
                args.append(dnnl_exec_arg_t(arg: operand.argument, memory: user))
            }
        }
        let target = try memory(output.plain, UnsafeMutableRawPointer(result))
        let written = output.reorder == nil ? target : try scratch(output)
        args.append(dnnl_exec_arg_t(arg: output.argument, memory: written))
        if pass == .forward, shape.bias {
            guard let bias else { throw TensorError.library("oneDNN: the forward of \(shape) was made with a bias and given none") }
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: try memory(biasDescriptor, UnsafeMutableRawPointer(mutating: bias))))
        }
        if let pad = try scratch(scratchpad, .oneDNNScratchpad) { args.append(dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: pad)) }
        try OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(args.count), &args), "the \(pass.rawValue) of \(shape)")
        if output.reorder != nil { try reorder(output, from: written, to: target) }
        try OneDNN.check(dnnl_stream_wait(stream), "waiting for the \(pass.rawValue) of \(shape)")
    }
}
