// `bptt-lens`: the headless entry (design §5). Arguments are parsed by commander; every
// usage error and every InputError becomes ONE line on stderr and exit code 2, and the
// commands write their files atomically, so a failed run leaves nothing half-written.
// Any other error is a bug: one line too, exit code 1 (BPTT_LENS_DEBUG=1 adds the stack).

import { Command, CommanderError, Option } from 'commander';
import { CELL_NAMES } from './engine/cells';
import { isInputError } from './io/errors';

const USAGE_EXIT = 2;

function buildProgram(): Command {
  const program = new Command('bptt-lens')
    .description('See how gradients travel back through time in RNNs, LSTMs and GRUs.')
    .version('0.1.0')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeErr: () => undefined }); // errors are printed once, by main()

  program
    .command('gradients')
    .description('one forward/backward pass with the given weights on the given data (no update); writes a run record')
    .requiredOption('--weights <file>', 'weights as safetensors with PyTorch state_dict names (F32 or F64)')
    .requiredOption('--input <file>', 'input JSON {"x": [B][T][I], "y": [B][T][O] or [B][O]}')
    .option('--cell <name>', `the cell, when the weights' shapes cannot tell it (slstm): ${CELL_NAMES.join(', ')}`)
    .addOption(new Option('--nonlinearity <act>', 'RNN nonlinearity (not stored in the weights)').choices(['tanh', 'relu']))
    .addOption(new Option('--variant <name>', 'LSTM gate variant (Greff et al. 2015)').choices(['vanilla', 'peephole', 'cifg', 'nfg', 'nig', 'nog', 'niaf', 'noaf']))
    .addOption(new Option('--loss <kind>', 'loss').choices(['mse', 'xent']).default('mse'))
    .addOption(new Option('--mode <mode>', 'which outputs are scored (default: from the shape of y)').choices(['many-to-one', 'many-to-many']))
    .option('--itemized', "also record RNNbow's itemized gradient matrix (O(T^2))")
    .option('--jacobian-iterations <n>', "power iterations per step for jacobianNorm: a number (0: skip it) or 'auto', as many as fit 0.3 x the pass (20 on small models, none on an H = 512 LSTM)", 'auto')
    .option('--out <file>', 'write the run record here (default: stdout)')
    .action(async (options) => {
      const { gradientsCommand } = await import('./cli/gradients');
      const raw = String(options.jacobianIterations);
      if (raw !== 'auto' && !(/^\d+$/.test(raw) && Number(raw) <= 1000)) {
        const { InputError } = await import('./io/errors');
        throw new InputError('--jacobian-iterations', null, `expected 'auto' or a whole number from 0 to 1000, got '${raw.slice(0, 40)}'`);
      }
      await gradientsCommand({ ...options, jacobianIterations: raw === 'auto' ? 'auto' : Number(raw) });
    });

  program
    .command('diagnose')
    .description('a study — diagnosis (default), clipping or gates, as in the extension — trains the networks, writes a report folder, prints what it found and the verdict table')
    .addOption(new Option('--study <kind>', 'diagnosis: cells side by side; clipping: clipping thresholds on the exploding setting (Pascanu et al. 2013); gates: every gate choice').choices(['diagnosis', 'clipping', 'gates']).default('diagnosis'))
    .option('--sample <name>', 'built-in data: adding (default; airline for --study clipping), airline, copy, binary-addition, sine, text')
    .option('--data <file>', 'your own sequence file: .csv, .tsv, .json or .txt (character level)')
    .option('--target <column>', 'CSV/TSV column to predict, by header name or 1-based position (default: the last numeric column)')
    .addOption(new Option('--missing <policy>', 'missing cells in --data (empty, NA, n/a, NaN, null, -): drop the windows that hold one, or interpolate them (default: stop and say how many)').choices(['drop', 'interpolate']))
    .option('--length <T>', 'window / sequence length T (default: the sample\'s; for --data, suggested from the series\' autocorrelation)')
    .option('--cells <list>', `comma-separated cells: ${CELL_NAMES.join(', ')} (rnn = rnn-tanh; default rnn-tanh,lstm,gru)`)
    .option('--clip <list>', 'comma-separated clip settings: none, norm:5 (or 5), value:0.5 (default: none; for --study clipping: none,norm:0.25,norm:1,norm:4,value:0.1)')
    .option('--hidden <n>', 'hidden units per layer (default: the sample\'s)')
    .option('--layers <n>', 'stacked recurrent layers (default 1)')
    .option('--iterations <n>', 'training iterations per run (default: the sample\'s)')
    .option('--lr <x>', 'learning rate (default: the sample\'s; 0.3 for --study clipping)')
    .addOption(new Option('--optimizer <kind>', 'optimizer (default: adam; sgd for --study clipping)').choices(['adam', 'sgd', 'momentum']))
    .option('--batch <n>', 'minibatch size (default: the sample\'s)')
    .addOption(new Option('--init <scheme>', 'recurrent weight init (default pytorch)').choices(['pytorch', 'xavier', 'orthogonal', 'identity']))
    .option('--spectral-radius <x>', 'rescale W_hh to this spectral radius after init (default: none; 1.5 for --study clipping)')
    .option('--forget-bias', 'LSTM family: forget-gate bias 1 (Jozefowicz et al. 2015) instead of 0')
    .option('--truncation <k>', 'truncated BPTT: K (backpropagate K steps every K steps) or K1:K2 (K2 steps every K1); default: full BPTT')
    .option('--seed <n>', 'random seed (default 1)')
    .option('--seeds <list>', 'repeat every run with these seeds (comma-separated); the report shows min/median/max')
    .option('--epsilon <x>', 'horizon ε (default 1e-3)')
    .option('--rho-delta <x>', 'tolerance δ around ρ = 1 (default 0.02)')
    .option('--explode-growth <x>', 'growth factor that counts as exploding (default 10)')
    .option('--out-dir <dir>', 'folder under which the report folder is created (default bptt-reports)')
    .option('--no-check', 'do not re-run recommendations to check them')
    .action(async (options) => {
      const { diagnoseCommand } = await import('./cli/diagnose');
      await diagnoseCommand(options);
    });

  program
    .command('captures')
    .description('replay every training capture in DIR (written by the bptt_lens recorder), write a report folder, print the verdict over training')
    .argument('<dir>', 'folder of step-<8 digits>.capture.safetensors files (e.g. bptt-captures)')
    .option('--out-dir <dir>', 'folder under which the report folder is created (default bptt-reports)')
    .option('--itemized-rows <n>', "itemized rows per capture: auto (bounded by the pass's cost; default), all, or a count")
    .action(async (dir: string, options) => {
      const { capturesCommand } = await import('./cli/captures');
      commandExit = await capturesCommand(dir, options);
    });

  return program;
}

/** A command that finished but found bad input (e.g. some captures unreadable) sets this. */
let commandExit = 0;

/** Runs the CLI; resolves to the exit code instead of exiting, so tests can call it. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  commandExit = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return commandExit;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end the same way, with exit code 0 and their output on stdout.
      if (e.exitCode === 0) return 0;
      // No command given: commander would print the whole help to stderr; one line is enough.
      if (e.code === 'commander.help') {
        process.stderr.write("bptt-lens: missing command: 'gradients', 'diagnose' or 'captures' (see bptt-lens --help)\n");
        return USAGE_EXIT;
      }
      process.stderr.write(`bptt-lens: ${oneLine(e.message.replace(/^error: /, ''))}\n`);
      return USAGE_EXIT;
    }
    if (isInputError(e)) {
      process.stderr.write(`bptt-lens: ${oneLine(e.message)}\n`);
      return USAGE_EXIT;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`bptt-lens: internal error: ${oneLine(err.message)}\n`);
    if (process.env.BPTT_LENS_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
    return 1;
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' ').trim();
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    () => {
      process.exitCode = 1;
    },
  );
}
