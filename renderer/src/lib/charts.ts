/**
 * What every line chart of the studio shares (the live loss chart, the comparison's charts): the chart.js
 * parts registered once, only those a line chart needs so the bundle carries nothing else of chart.js;
 * the colours of grid and ticks; and options for data that arrives already parsed and is redrawn often.
 */
import { Chart, Decimation, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartOptions } from 'chart.js';

// Decimation keeps drawing cheap on long runs: beyond ~4 points per pixel, min–max per pixel column.
Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Decimation);

export const GRID = 'rgba(255, 255, 255, 0.06)';
export const TICKS = '#8d96a8';

export type XY = { x: number; y: number };

/**
 * {x, y} points used as given (no parsing), no animation (a redraw is `update('none')` anyway), sized by
 * the container, and a tooltip for the nearest x across lines.
 */
export const lineChartBase = {
  animation: false,
  parsing: false,
  normalized: true,
  responsive: true,
  maintainAspectRatio: false,
  interaction: { mode: 'nearest', axis: 'x', intersect: false },
} as const satisfies ChartOptions<'line'>;

export { Chart };
