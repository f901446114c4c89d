/** How each resolved hyperparameter reads in the preset table: a short label and what it does. */
import type { ResolvedConfig } from '../../../shared/presets.ts';

export const hyperparams: Record<keyof ResolvedConfig, { label: string; hint: string }> = {
  presetId: { label: 'Preset', hint: 'The named configuration these values come from.' },
  family: { label: 'Model family', hint: 'The GAN architecture.' },
  resolution: { label: 'Resolution', hint: 'Training size in pixels; larger datasets are area-downsampled to it.' },
  batchSize: { label: 'Batch size', hint: 'Real images per discriminator step.' },
  latentDim: { label: 'Latent size', hint: 'Length of the random vector the generator starts from.' },
  channelsAtOutput: { label: 'Channels at output', hint: 'Feature maps at full resolution; doubled per halving.' },
  maxChannels: { label: 'Max channels', hint: 'Cap on feature maps at low resolutions.' },
  gLearningRate: { label: 'G learning rate', hint: 'Adam step size of the generator.' },
  dLearningRate: { label: 'D learning rate', hint: 'Adam step size of the discriminator.' },
  adamBeta1: { label: 'Adam β1', hint: 'Momentum of the gradient mean.' },
  adamBeta2: { label: 'Adam β2', hint: 'Momentum of the squared gradient.' },
  leakySlope: { label: 'LeakyReLU slope', hint: 'Negative slope of the discriminator activations.' },
  xflip: { label: 'Horizontal flips', hint: 'Randomly mirror the reals (doubles the effective dataset).' },
  totalKimg: { label: 'Length (kimg)', hint: 'Thousands of real images shown to D before the run finishes.' },
  seed: { label: 'Seed', hint: 'Random seed for weights, latents and data order.' },
  tickSteps: { label: 'Tick (steps)', hint: 'Steps between stats lines and progress updates.' },
  sampleSteps: { label: 'Sample every (steps)', hint: 'Steps between refreshes of the live sample grid.' },
  snapshotSteps: { label: 'Snapshot every (steps)', hint: 'Steps between snapshots (grid + checkpoint on disk).' },
  gridSide: { label: 'Grid side', hint: 'The sample grid is side × side images from fixed latents.' },
  onNonFinite: { label: 'On NaN/Inf', hint: 'Roll back to the last good snapshot with halved learning rates (once), or stop the run.' },
};
