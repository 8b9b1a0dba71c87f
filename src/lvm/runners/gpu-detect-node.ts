/**
 * Node: is there a real GPU for onnxruntime-node's WebGPU provider (Dawn), or only a software emulation?
 * `auto` uses a GPU only where this says real.
 *
 * onnxruntime-node does not expose the adapter Dawn picks (no GPUAdapterInfo in its API), so the detection
 * looks at what Dawn would load, without creating a device:
 * - macOS: Dawn runs on Metal, which always has the machine's GPU (Apple silicon, or the Mac's discrete /
 *   integrated GPU): real.
 * - Linux: Dawn loads the Vulkan loader (libvulkan.so.1), which loads the installable client drivers (ICDs)
 *   listed in VK_DRIVER_FILES / VK_ICD_FILENAMES when set, else the JSON manifests in the standard icd.d
 *   folders. Each manifest names its driver library: SwiftShader (libvk_swiftshader.so, what Chromium ships),
 *   lavapipe (libvulkan_lvp.so, mesa's llvmpipe) and the loader's mock ICD are CPU emulations. Real means a
 *   manifest of another driver (nvidia, radeon, intel, ...) AND a GPU device node (/dev/dri/renderD*, /dev/nvidia*),
 *   since driver packages are often installed in containers that have no GPU.
 * - Windows: Dawn's D3D12 backend; its software adapter (WARP) is a fallback adapter that Dawn does not hand out
 *   unless asked to, so a WebGPU adapter there is taken as real.
 * A detected GPU can still fail to create a session (missing loader, old driver): the caller falls back then.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

export interface GpuDetection {
  /** A hardware GPU that WebGPU can use. */
  real: boolean;
  /** One line: what was found and why it counts or not. */
  reason: string;
  /** Linux: the ICD manifests considered, with their driver library and whether it is a software one. */
  icds?: { manifest: string; library: string; software: boolean }[];
}

/** Driver libraries that emulate a GPU on the CPU. */
const SOFTWARE_DRIVER = /swiftshader|lvp|lavapipe|llvmpipe|mock_icd/i;

/** Where the Vulkan loader looks for ICD manifests when no env var names them (Linux). */
export const ICD_DIRS = [
  "/etc/vulkan/icd.d",
  "/usr/local/etc/vulkan/icd.d",
  "/usr/share/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
  "/usr/local/nvidia/share/vulkan/icd.d",
];

export interface DetectEnvironment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** GPU device nodes present (default: /dev/nvidia<n> and /dev/dri/renderD<n>). */
  devices?: string[];
  icdDirs?: string[];
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function icdLibrary(manifest: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(manifest, "utf8")) as { ICD?: { library_path?: string } };
    return json.ICD?.library_path;
  } catch {
    return undefined;
  }
}

/** The ICD manifests the Vulkan loader would read. */
export function icdManifests(env: NodeJS.ProcessEnv, icdDirs: string[] = ICD_DIRS): string[] {
  const named = env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES;
  if (named) return named.split(":").filter((f) => f.length > 0);
  return icdDirs.flatMap((dir) =>
    listDir(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => join(dir, f)),
  );
}

export function detectGpu(
  { platform, env, devices, icdDirs }: DetectEnvironment = { platform: process.platform, env: process.env },
): GpuDetection {
  if (platform === "darwin") return { real: true, reason: "macOS: WebGPU runs on Metal" };
  if (platform === "win32") return { real: true, reason: "Windows: WebGPU runs on D3D12 (its software adapter is not chosen by default)" };
  if (platform !== "linux") return { real: false, reason: `no GPU detection on ${platform}` };
  const icds = icdManifests(env, icdDirs).flatMap((manifest) => {
    const library = icdLibrary(manifest);
    return library ? [{ manifest, library, software: SOFTWARE_DRIVER.test(basename(library)) }] : [];
  });
  const hardware = icds.filter((i) => !i.software);
  if (hardware.length === 0) {
    const found =
      icds.length > 0 ? `only software Vulkan drivers (${icds.map((i) => basename(i.library)).join(", ")})` : "no Vulkan driver";
    return { real: false, reason: `Linux: ${found}`, icds };
  }
  const gpuNodes = devices ?? [
    ...listDir("/dev")
      .filter((d) => /^nvidia\d+$/.test(d))
      .map((d) => `/dev/${d}`),
    ...listDir("/dev/dri")
      .filter((d) => /^renderD\d+$/.test(d))
      .map((d) => `/dev/dri/${d}`),
  ];
  if (gpuNodes.length === 0)
    return { real: false, reason: `Linux: Vulkan driver ${basename(hardware[0].library)} but no GPU device in /dev`, icds };
  return { real: true, reason: `Linux: Vulkan driver ${basename(hardware[0].library)}, ${gpuNodes[0]}`, icds };
}

/** Debian's chromium package: SwiftShader's Vulkan ICD and a Vulkan loader, next to the browser. */
export const CHROMIUM_DIR = "/usr/lib/chromium";
export const SWIFTSHADER_ICD = join(CHROMIUM_DIR, "vk_swiftshader_icd.json");

/**
 * The environment a child process needs to run WebGPU on SwiftShader (Chromium's CPU Vulkan driver), or
 * undefined when it is not installed. LD_LIBRARY_PATH adds Chromium's own libvulkan.so.1 for machines
 * without the libvulkan1 package; it must be set before the process starts, hence a child process.
 */
export function swiftShaderEnv(base: NodeJS.ProcessEnv = process.env, icd = SWIFTSHADER_ICD): NodeJS.ProcessEnv | undefined {
  if (!existsSync(icd)) return undefined;
  const dir = join(icd, "..");
  return {
    ...base,
    VK_ICD_FILENAMES: icd,
    VK_DRIVER_FILES: icd,
    LD_LIBRARY_PATH: [base.LD_LIBRARY_PATH, dir].filter(Boolean).join(":"),
    XDG_RUNTIME_DIR: base.XDG_RUNTIME_DIR ?? "/tmp",
  };
}
